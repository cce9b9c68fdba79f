"""The reverse proxy image's build context (Dockerfile, nginx.conf), shipped as package data."""
