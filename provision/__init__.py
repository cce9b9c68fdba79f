"""dockerhello: a Django app from source to a running container, one command a step."""

__version__ = "0.1.0"
