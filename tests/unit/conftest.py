"""Fixtures the unit tests share."""

from tests.unit.deploy_world import world  # noqa: F401  # the deploy wing on the fake engine
from tests.unit.shell_loops import listener  # noqa: F401  # a port that listens on this host
