"""Tasks (``r1lite.tasks``): data source, prompt template, gold extraction and rewards for one kind of problem."""
