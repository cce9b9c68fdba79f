"""Defaults that the command line shows and the services use, declared once, in a module that
imports nothing: option declarations read them at start-up."""

# docker-machine's own fallback name for a machine (commands/commands.go).
DEFAULT_MACHINE = "default"
# The tutorial's machine.
MACHINE_CPUS = 2
MACHINE_MEMORY_MB = 4096
MACHINE_DISK_MB = 5000
# VirtualBox 6.1.28 and later refuse host-only networks outside 192.168.56.0/21 unless
# /etc/vbox/networks.conf allows them; docker-machine's default 192.168.99.1/24 is outside.
DEFAULT_HOSTONLY_CIDR = "192.168.56.1/24"
# The shells `dockerhello env` writes for, as docker-machine env does.
SHELLS = ("bash", "zsh", "fish", "powershell", "cmd")
# `dockerhello base build`: Debian 13, Python 3.13.
DEFAULT_SUITE = "trixie"


BASE_REPOSITORY = "dockerhello/python"


def base_image_tag(suite: str) -> str:
    """The image `dockerhello base build --suite SUITE` makes."""
    return f"{BASE_REPOSITORY}:{suite}"
