"""What dockerhello does, composed from the engine, the process runner and the console."""
