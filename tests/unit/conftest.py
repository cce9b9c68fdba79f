"""Fixtures the unit tests share."""

from tests.unit.test_deploy_wing import world  # noqa: F401  # the deploy wing on the fake engine
