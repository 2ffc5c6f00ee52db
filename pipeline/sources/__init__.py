"""Sources: takes pipeline.yaml, events/**/*.yaml and newsletters/*.yaml.

Gives frozen Settings, Event and Issue values (pipeline.model), or every problem at once as path:line.
"""
