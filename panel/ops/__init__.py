"""Running the panel: the connection check (`doctor`) and the health endpoints (`health`)."""
