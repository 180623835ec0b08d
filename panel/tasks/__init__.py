"""Next steps and past activities: the Task lists, writing Tasks before and during a call."""
