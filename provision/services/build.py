"""Step 2 of a deploy: build the release's image from the project's Dockerfile, showing the
build as it goes, and say what went wrong in the user's terms when it fails."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from provision.adapters.engine import Engine
from provision.console import Console
from provision.defaults import BASE_REPOSITORY, DEFAULT_SUITE, base_image_tag
from provision.errors import BaseImageUnavailable, BuildFailed
from provision.project import Project

LOG_LINES = 30
NO_REGISTRY_HINT = (
    "No registry is reachable from this engine. Build a base image from Debian packages with `dockerhello base "
    "build` and deploy with `--base-image dockerhello/python:trixie` (or set DOCKERHELLO_BASE_IMAGE)."
)
PULL_HINT = (
    "--pull asks the base image's registry for a newer version, and this engine could not get it there (a base "
    "that `dockerhello base build` made is in no registry). Deploy without --pull to build on the engine's copy."
)
# What the builder says when a FROM image can be neither found nor pulled.
_PULL_FAILURES = ("pull access denied", "no such host", "manifest unknown", "not found", "dial tcp", "timeout")


# What a build context should not carry into an image, and does where no .dockerignore leaves
# it out: secrets, the repository, virtualenvs, front-end dependencies, the development
# database, uploads. `init`'s .dockerignore names each of them.
UNWANTED = (".env", ".git", ".venv", "venv", "node_modules", "db.sqlite3", "media")


def unignored(project: Path) -> list[str]:
    """The UNWANTED names at the top of `project`, where it has no .dockerignore."""
    if (project / ".dockerignore").exists():
        return []
    return [name for name in UNWANTED if (project / name).exists()]


def parse_arg_step(line: str) -> dict[str, str]:
    """`Step 1/14 : ARG BASE_IMAGE=python:3.12-slim` -> {"BASE_IMAGE": "python:3.12-slim"}."""
    match = re.match(r"^Step \d+/\d+ : ARG ([A-Za-z_][A-Za-z0-9_]*)=(\S+)", line)
    return {match.group(1): match.group(2).strip("\"'")} if match else {}


def expand_args(text: str, args: dict[str, str]) -> str:
    """Expand `$NAME` and `${NAME}` the way the builder does in a FROM line."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), text)


# What a build step's tools say when a name does not resolve or a host cannot be reached: pip,
# apt, curl and wget, as glibc and Python word it.
_NO_NETWORK = ("Temporary failure in name resolution", "Temporary failure resolving", "Name or service not known",
               "Could not resolve host", "Network is unreachable", "unable to resolve host address")  # fmt: skip
_NO_DISTRIBUTION = re.compile(r"No matching distribution found for (\S+)")
FIX_STEP = "The build output above shows the failing step; fix it and deploy again."


def step_hint(recent: list[str], said: str) -> str:
    """What to do about a failing step, from its last lines: the network the engine's builds
    use, a requirement pip has no version of, a step killed for memory; else the step itself."""
    text = "\n".join(recent)
    if any(marker in text for marker in _NO_NETWORK):
        return ("The step could not reach the network from the engine's build (a name did not resolve, or a host "
                "could not be reached): check the engine's DNS and network. Behind a proxy, the build gets it from "
                'the "proxies" of ~/.docker/config.json, as `docker build` does.')  # fmt: skip
    missing = _NO_DISTRIBUTION.search(text)
    if missing:
        return (f"pip has no version of {missing.group(1)} for the image's Python: check that pin in "
                "requirements.txt against the versions pip listed, and the base image's Python version.")  # fmt: skip
    if said.rstrip().endswith("non-zero code: 137"):
        return ("The step was killed (SIGKILL, most often for memory): give the engine more memory, or the step "
                "less to do at once (`pip install` of fewer packages, `make -j1`).")  # fmt: skip
    return FIX_STEP


@dataclass
class BuildLog:
    """What the build's output has said so far: the step it is on, the ARG defaults seen
    (to name a base image given by one), the image the last stage is FROM, the last lines."""

    buildargs: dict[str, str] = field(default_factory=dict)
    pull: bool = False  # the build asked the base's registry anew (--pull)
    step: str = ""
    args: dict[str, str] = field(default_factory=dict)
    last_from: str | None = None
    recent: list[str] = field(default_factory=list)

    def feed(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith("Step "):
                self.step = line
                self.args.update(parse_arg_step(line))
                if " : FROM " in line:
                    self.last_from = expand_args(self.written_from(), {**self.args, **self.buildargs})
            if line.strip():
                self.recent = [*self.recent[-(LOG_LINES - 1) :], line]

    def written_from(self) -> str:
        return self.step.split(" : FROM ", 1)[1].split()[0] if " : FROM " in self.step else ""

    def error(self, said: str) -> BuildFailed:
        """The build's failure: a base image that cannot be pulled, or a failing step."""
        if " : FROM " in self.step and any(marker in said for marker in _PULL_FAILURES):
            written = self.written_from()
            unavailable = BaseImageUnavailable(
                f"Cannot pull the base image {expand_args(written, {**self.args, **self.buildargs})}: {said}",
                hint=PULL_HINT if self.pull else NO_REGISTRY_HINT,
            )
            unavailable.takes_base_arg = "BASE_IMAGE" in written
            return unavailable
        return BuildFailed(f"The image did not build: {said}", hint=step_hint(self.recent, said),
                           details=self.recent[-10:])  # fmt: skip


class ImageBuilder:
    def __init__(self, engine: Engine, console: Console) -> None:
        self.engine = engine
        self.console = console

    def build(self, project: Project, image: str, base_image: str | None, *, pull: bool = False,
              cache: bool = True) -> str | None:  # fmt: skip
        """Build `image` (and APP:latest) from the Dockerfile as written; returns the image its
        last stage was built FROM. No labels are added: each would be a build step of its own
        after the code's, a committed container (about 0.1 s) on every deploy, and the tag
        APP:RELEASE already names the release and its commit. Where the Dockerfile's default
        base cannot be pulled and takes the BASE_IMAGE argument, a base `dockerhello base
        build` made is used, and said; not with `pull`, which asked for the registry's."""
        try:
            return self._build(project, image, base_image, pull, cache)
        except BaseImageUnavailable as unavailable:
            fallback = self.registry_free_base() if unavailable.takes_base_arg and not base_image and not pull else None
            if fallback is None:
                raise
            self.console.warn(
                f"the Dockerfile's base image cannot be pulled: building on {fallback}, which `dockerhello base "
                "build` made (--base-image or DOCKERHELLO_BASE_IMAGE chooses another)"
            )
            return self._build(project, image, fallback, pull, cache) or fallback

    def _build(self, project: Project, image: str, base_image: str | None, pull: bool, cache: bool) -> str | None:
        how = [words for words, asked in (("its base image pulled anew", pull), ("no cached step", not cache)) if asked]
        self.console.step(f"Building {image} from {project.path}" + (f" ({', '.join(how)})" if how else ""))
        carried = unignored(project.path)
        if carried:
            self.console.warn(
                f"{project.path} has no .dockerignore: {', '.join(carried)} go to the engine with every build, and "
                "into the image wherever the Dockerfile copies the whole directory (a secret in .env with them). "
                "List them in a .dockerignore (the one `dockerhello init` writes leaves out each)."
            )
        buildargs = {"BASE_IMAGE": base_image} if base_image else {}
        # With --pull the build fetches the base, so it need not be on the engine yet.
        if base_image and not pull and self.engine.image(base_image) is None:
            raise BaseImageUnavailable(
                f"Base image {base_image} is not on the {self.engine.target.describe()}",
                hint="Build one without a registry with `dockerhello base build`, or name an image "
                "that `docker images` lists.",
            )
        log = BuildLog(buildargs=buildargs, pull=pull)
        for event in self.engine.build(image, {}, buildargs or None, path=project.path, pull=pull, nocache=not cache):
            if event.kind == "error":
                raise log.error(event.text)
            self.console.stream(event.text)
            if event.kind == "stream":
                log.feed(event.text)
        self.engine.tag(image, project.app, "latest")
        return log.last_from

    def registry_free_base(self) -> str | None:
        """A base image `dockerhello base build` made, the default suite's first."""
        tags = sorted(tag for image in self.engine.images(BASE_REPOSITORY) for tag in image.tags)
        preferred = base_image_tag(DEFAULT_SUITE)
        return preferred if preferred in tags else (tags[0] if tags else None)
