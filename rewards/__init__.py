"""Reward rules (``r1lite.rewards``): one rule per module, registered by name.

Add your own with ``@reward_rule("name")`` or load it as ``path/to/file.py:function``,
``package.module:function`` or an entry point in the group ``r1lite.rewards``.
"""

from r1lite.rewards.base import (
    REWARDS,
    RewardRule,
    completion_text,
    completion_texts,
    get_rule,
    list_rules,
    report,
    reward_rule,
)

__all__ = [
    "REWARDS",
    "RewardRule",
    "completion_text",
    "completion_texts",
    "get_rule",
    "list_rules",
    "report",
    "reward_rule",
]
