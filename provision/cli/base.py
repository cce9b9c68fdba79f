"""`dockerhello base`: base images made without a registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from provision.app import App
from provision.cli import cli, pass_app
from provision.cli.params import DEBIAN_SUITE, IMAGE, MIRROR, READABLE_FILE
from provision.defaults import DEFAULT_SUITE, base_image_tag

if TYPE_CHECKING:
    from pathlib import Path


@cli.group()
def base() -> None:
    """Base images for the Dockerfile, made without any registry."""


@base.command("build")
@click.option(
    "--suite",
    type=DEBIAN_SUITE,
    default=DEFAULT_SUITE,
    show_default=True,
    help="Debian release to install: trixie gives Python 3.13, bookworm Python 3.11.",
)
@click.option("--tag", type=IMAGE, help="Image name.  [default: dockerhello/python:SUITE]")
@click.option("--mirror", type=MIRROR, help="Debian mirror for debootstrap (default: deb.debian.org).")
@click.option(
    "--ca-cert",
    "ca_certs",
    multiple=True,
    metavar="FILE",
    type=READABLE_FILE,
    help="PEM file of CA certificates to trust inside the image, for networks whose "
    "proxy re-signs HTTPS (pip fails with CERTIFICATE_VERIFY_FAILED without it). "
    "Repeatable; a bundle such as /etc/ssl/certs/ca-certificates.crt works.",
)
@click.option("--rebuild", is_flag=True, help="Build again even if the image exists.")
@pass_app
def build(app: App, suite: str, tag: str | None, mirror: str | None, ca_certs: tuple[Path, ...], rebuild: bool) -> None:
    """Build a minimal Debian-based Python image with debootstrap and import it.

    \b
    For engines that cannot pull python:3.12-slim (air-gapped networks, rate limits):
      sudo dockerhello base build
      dockerhello deploy --base-image dockerhello/python:trixie
    Needs root and debootstrap; takes about 30 s with a nearby mirror.
    """
    from provision.services.base_image import BaseImageSpec

    spec = BaseImageSpec(suite=suite, tag=tag or base_image_tag(suite), mirror=mirror, ca_certs=ca_certs)
    app.base_builder().build(spec, rebuild=rebuild)
    app.console.result(spec.tag)
