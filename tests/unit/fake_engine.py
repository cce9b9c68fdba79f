"""An engine in memory, with the adapter's interface, for the deploy wing's unit tests.

It keeps containers, images, files and networks as an engine would, runs nothing, and lets a
test script what the real engine would do: a build's output, whether a container becomes
healthy or exits, what GET / answers from the proxy's side. The end-to-end tests run the
same code against the real engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from provision.adapters.engine_model import (
    BuildEvent,
    ContainerInfo,
    ContainerSpec,
    EngineInfo,
    ImageInfo,
    NetworkInfo,
)
from provision.engine import EngineTarget
from provision.errors import NameTaken
from provision.owned import ROUTE_DIR
from provision.services.drain import CONNECTED_UNTIL
from provision.services.listening import LISTENING
from provision.services.proxy_layout import parse_route
from provision.services.proxy_scripts import SERVED


@dataclass
class Behaviour:
    """What a release does once started."""

    health: str | None = "healthy"  # "healthy", "unhealthy", "starting", None (no HEALTHCHECK)
    exit_code: int | None = None  # exits at start with this code
    answers: int | None = 200  # GET / from the proxy's side; None: nothing answers (refused)
    # Where it listens, as the release's LISTENING script prints it: 0.0.0.0:8000.
    listening: str = "00000000:1F40\n"
    logs: tuple[str, ...] = ("Starting Gunicorn with 5 workers",)
    one_off_exit: int = 0  # what a one-off container (a migration, `run`) exits with
    one_off_output: tuple[str, ...] = ("Operations to perform:", "  No migrations to apply.")
    # A retiring release's watch for the proxy's connections: 0 none left, 1 some still there
    # when the window ended, 127 no /bin/sh in the image.
    drain_exit: int = 0


@dataclass
class FakeHeldExec:
    """The proxy's switch script, started ahead: it switches when `finish` gives it its line,
    as the script does, and changes nothing when closed without one."""

    engine: FakeEngine
    container: str
    root: str
    closed: bool = False

    def finish(self, line: str, timeout: float = 30.0) -> tuple[int, str]:
        assert not self.closed, "a held exec finished after it was closed"
        self.closed = True
        words = line.split()
        if len(words) != 2 or words[0] != "switch":
            return 3, ""
        self.engine.put_file(self.container, self.root, "live", f"to/{words[1]}", 10001)
        self.engine.switches += 1
        return 0, ""

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeEngine:
    target: EngineTarget = field(default_factory=EngineTarget)
    info_: EngineInfo = field(default_factory=lambda: EngineInfo(2, 8 * 1024**3, "20.10.24", "1.41"))
    images_: dict[str, ImageInfo] = field(default_factory=dict)  # by tag and id
    containers_: dict[str, ContainerInfo] = field(default_factory=dict)  # by name
    specs: dict[str, ContainerSpec] = field(default_factory=dict)
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (container, path) -> content
    networks: dict[str, NetworkInfo] = field(default_factory=dict)
    volumes_: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> labels
    build_script: list[BuildEvent] | None = None  # None: a build that succeeds
    declares_volumes: tuple[str, ...] = ()  # the paths an image built here declares VOLUME
    behaviour: Behaviour = field(default_factory=Behaviour)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    build_flags: dict[str, dict[str, bool]] = field(default_factory=dict)  # tag -> its build's pull and nocache
    switches: int = 0
    held: list[FakeHeldExec] = field(default_factory=list)  # every held exec started, closed or not
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_image(self, tag: str, user: str = "", env: tuple[str, ...] = (), size: int = 1000) -> ImageInfo:
        image = ImageInfo(f"sha256:{next(self._ids):064x}", (tag,), {}, user, env, size, ("sha256:base",))
        self.images_[tag] = self.images_[image.id] = image
        return image

    # -- the engine ------------------------------------------------------------------------

    def info(self) -> EngineInfo:
        return self.info_

    def image(self, reference: str) -> ImageInfo | None:
        return self.images_.get(reference)

    def images(self, repository: str) -> list[ImageInfo]:
        unique = {image.id: image for image in self.images_.values()}
        return [i for i in unique.values() if any(t.split(":")[0] == repository for t in i.tags)]

    def tag(self, image: str, repository: str, tag: str) -> None:
        reference = f"{repository}:{tag}"
        for key, held in list(self.images_.items()):  # a tag names one image: it moves
            if reference in held.tags:
                self.images_[key] = replace(held, tags=tuple(t for t in held.tags if t != reference))
        found = self.images_[image]
        updated = replace(found, tags=(*found.tags, f"{repository}:{tag}"))
        for key in [k for k, v in self.images_.items() if v.id == found.id]:
            self.images_[key] = updated
        self.images_[f"{repository}:{tag}"] = updated

    def remove_image(self, reference: str, force: bool = False) -> bool:
        found = self.images_.get(reference)
        if found is None:
            return False
        self.calls.append(("remove_image", reference))
        if reference != found.id and len(found.tags) > 1:  # a tag of an image with others: only untagged
            untagged = replace(found, tags=tuple(t for t in found.tags if t != reference))
            del self.images_[reference]
            for key in [k for k, v in self.images_.items() if v.id == found.id]:
                self.images_[key] = untagged
            return True
        for key in [k for k, v in self.images_.items() if v.id == found.id]:
            del self.images_[key]
        return True

    def prune_dangling_images(self) -> tuple[list[str], int]:
        return [], 0

    def prune_build_cache(self) -> int:
        return 0

    def build(self, tag: str, labels: Mapping[str, str], buildargs: Mapping[str, str] | None = None,
              path: Path | None = None, context: bytes | None = None, pull: bool = False,
              nocache: bool = False) -> Iterator[BuildEvent]:  # fmt: skip
        self.calls.append(("build", tag, str(dict(buildargs or {}))))
        self.build_flags[tag] = {"pull": pull, "nocache": nocache}
        base = (buildargs or {}).get("BASE_IMAGE", "python:3.12-slim")
        script = self.build_script or [
            BuildEvent("stream", "Step 1/3 : ARG BASE_IMAGE=python:3.12-slim\n"),
            BuildEvent("stream", "Step 2/3 : FROM ${BASE_IMAGE}\n"),
            BuildEvent("stream", f" ---> {base}\n"),
            BuildEvent("stream", 'Step 3/3 : CMD ["./start.sh"]\n'),
            BuildEvent("stream", "Successfully built 0123456789ab\n"),
        ]
        for event in script:
            yield event
            if event.kind == "error":
                return
        image = self.add_image(tag, user="10001:10001")
        # Labelled as a LABEL step does, with volumes as VOLUME steps give it.
        self.images_[tag] = self.images_[image.id] = replace(image, labels=dict(labels), volumes=self.declares_volumes)

    def import_image(self, archive: Path, repository: str, tag: str, changes: Sequence[str]) -> None:
        self.add_image(f"{repository}:{tag}")

    def import_archive(self, data: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        self.add_image(f"{repository}:{tag}")

    # -- containers ---------------------------------------------------------------------------

    def container(self, name: str) -> ContainerInfo | None:
        return self.containers_.get(name) or next((c for c in self.containers_.values() if c.id == name), None)

    def containers(self, labels: Mapping[str, str] | None = None, running_only: bool = False) -> list[ContainerInfo]:
        return [c for c in self.containers_.values()
                if all(c.labels.get(k) == v for k, v in (labels or {}).items()) and (c.running or not running_only)]  # fmt: skip

    def create(self, spec: ContainerSpec) -> str:
        if spec.name in self.containers_:
            raise NameTaken(f"The engine has a container named {spec.name} already")
        container_id = f"{next(self._ids):064x}"
        publish = (spec.publish,) if spec.publish else ()
        self.containers_[spec.name] = ContainerInfo(
            container_id, spec.name, spec.image, dict(spec.labels), "created", False, False, 0,
            "0001-01-01T00:00:00Z", None, "", 0, tuple(f"{k}={v}" for k, v in spec.env.items()), spec.user or "",
            publish, spec.read_only, spec.cap_drop,
            ("no-new-privileges:true",) if spec.no_new_privileges else (), spec.memory, spec.nano_cpus,
            {spec.network: spec.ipv4_address or f"172.30.0.{next(self._ids) % 200 + 2}"},
            mounts={**spec.volumes, **spec.read_only_volumes},
        )  # fmt: skip
        self.specs[spec.name] = spec
        for volume in (*spec.volumes, *spec.read_only_volumes):  # made, unlabelled, as the engine does
            self.volumes_.setdefault(volume, {})
        self.calls.append(("create", spec.name))
        return container_id

    def _update(self, name: str, **changes: object) -> None:
        found = self.container(name)
        assert found is not None
        self.containers_[found.name] = replace(found, **changes)  # type: ignore[arg-type]

    def start(self, container: str) -> None:
        found = self.container(container)
        assert found is not None
        self.calls.append(("start", found.name))
        if found.labels.get("dockerhello.role") != "release":
            self._update(found.name, status="running", running=True, started_at="2026-11-25T12:00:00.123456789Z")
            return
        behaviour = self.behaviour
        if behaviour.exit_code is not None:
            self._update(found.name, status="exited", exit_code=behaviour.exit_code)
            return
        output = "curl: (7) Failed to connect" if behaviour.health == "unhealthy" else ""
        self._update(found.name, status="running", running=True, health=behaviour.health, health_output=output,
                     started_at="2026-11-25T12:00:00.123456789Z")  # fmt: skip

    def stop(self, container: str, timeout: int) -> None:
        found = self.container(container)
        if found is not None:
            self._update(found.name, status="exited", running=False)
            self.calls.append(("stop", found.name))

    def quit(self, container: str, signal: str, timeout: int) -> None:
        found = self.container(container)
        if found is not None:
            self._update(found.name, status="exited", running=False)
            self.calls.append(("quit", found.name, signal))

    def rename(self, container: str, name: str) -> None:
        found = self.container(container)
        assert found is not None
        if name in self.containers_:
            raise NameTaken(f"The engine has a container named {name} already")
        del self.containers_[found.name]
        self.containers_[name] = replace(found, name=name)
        self.specs[name] = self.specs.pop(found.name)
        self.calls.append(("rename", found.name, name))

    def remove(self, container: str, force: bool = False) -> bool:
        found = self.container(container)
        if found is None:
            return False
        del self.containers_[found.name]
        self.calls.append(("remove", found.name))
        return True

    def attach_output(self, container: str) -> Iterator[str]:
        found = self.container(container)
        assert found is not None and found.labels.get("dockerhello.role") == "one-off"
        assert not found.running, "attach before the start: attaching to an exited container waits for ever"
        self.calls.append(("attach", found.name, *(self.specs[found.name].command or ())))

        def output() -> Iterator[str]:
            yield from (line + "\n" for line in self.behaviour.one_off_output)
            self._update(found.name, status="exited", running=False, exit_code=self.behaviour.one_off_exit)

        return output()

    def wait(self, container: str) -> int:
        found = self.container(container)
        assert found is not None
        return found.exit_code

    def logs(self, container: str, tail: int) -> list[str]:
        return list(self.behaviour.logs)[-tail:] if self.container(container) else []

    def follow_logs(self, container: str, tail: int) -> Iterator[str]:
        yield from (line + "\n" for line in self.logs(container, tail))

    def exec(self, container: str, argv: Sequence[str]) -> tuple[int, str]:
        found = self.container(container)
        assert found is not None and found.running, f"exec in a container that does not run: {container}"
        if argv[0] == "cat":
            content = self.get_file(found.name, argv[1])
            return (0, content.decode()) if content is not None else (1, f"cat: {argv[1]}: No such file or directory")
        if list(argv[:2]) == ["nginx", "-t"]:
            return 0, ""
        if argv[0] == "pg_isready":  # the database, once started, accepts connections
            return 0, ""
        code = argv[argv.index("-c") + 1] if "-c" in argv else ""
        if argv[0] == "/bin/sh" and code == CONNECTED_UNTIL:  # a retiring release's drain
            self.calls.append(("drain", found.name, argv[-2]))
            return self.behaviour.drain_exit, ""
        if argv[0] == "python3" and "urlopen" in code:  # the health probe, from the proxy
            if self.behaviour.answers is None:
                return 1, "error [Errno 111] Connection refused\n"
            return 0, f"{self.behaviour.answers}\n"
        if argv[0] == "/bin/sh" and code == LISTENING:
            return 0, self.behaviour.listening
        if argv[0] == "python3" and code == SERVED:  # what the proxy serves, asked inside it
            self.calls.append(("served", found.name, *argv[-2:]))
            link = self.get_file(found.name, f"{ROUTE_DIR}/live")
            route = parse_route(link.decode()) if link else None
            return 0, f"{route[0]}\n" if route and route[0] != "none" else "\n"
        raise AssertionError(f"unexpected exec {argv}")

    def exec_held(self, container: str, argv: Sequence[str]) -> FakeHeldExec:
        found = self.container(container)
        assert found is not None and found.running, f"exec in a container that does not run: {container}"
        assert argv[0] == "python3" and "os.replace" in argv[argv.index("-c") + 1], f"unexpected held exec {argv}"
        held = FakeHeldExec(self, found.name, argv[argv.index("-c") + 2])  # the switch: argv ROOT WAIT
        self.held.append(held)
        return held

    def put_file(self, container: str, directory: str, name: str, content: str | bytes, uid: int) -> None:
        found = self.container(container)
        assert found is not None
        # Kept by volume where the container has one there, as the engine keeps it.
        spec = self.specs.get(found.name)
        volume = next((v for v, path in (spec.volumes if spec else {}).items() if path == directory), found.name)
        self.files[(volume, f"{directory}/{name}")] = content if isinstance(content, str) else content.decode()

    def get_file(self, container: str, path: str) -> bytes | None:
        found = self.container(container)
        assert found is not None
        spec = self.specs.get(found.name)
        directory = path.rsplit("/", 1)[0]
        volume = next((v for v, mount in (spec.volumes if spec else {}).items() if mount == directory), found.name)
        content = self.files.get((volume, path))
        return content.encode() if content is not None else None

    def link_target(self, container: str, path: str) -> str | None:
        """The link's target resolved as the engine does, from the directory it is in."""
        found = self.container(container)
        assert found is not None
        link = self.get_file(found.name, path)
        return f"{path.rpartition('/')[0]}/{link.decode()}" if link is not None else None

    def has_file(self, container: str, path: str) -> bool:
        found = self.container(container)
        return found is not None and self.get_file(found.name, path) is not None

    def network(self, name: str) -> NetworkInfo | None:
        return self.networks.get(name)

    def create_network(self, name: str, labels: Mapping[str, str]) -> NetworkInfo:
        self.networks[name] = NetworkInfo(name, "172.30.0.0/24", "172.30.0.1", dict(labels))
        return self.networks[name]

    def connect_network(self, network: str, container: str, ipv4_address: str | None = None) -> None:
        found = self.container(container)
        assert found is not None and network in self.networks
        self._update(found.name, addresses={**found.addresses, network: ipv4_address or "172.30.0.99"})

    def disconnect_network(self, network: str, container: str) -> None:
        found = self.container(container)
        if found is not None:
            self._update(found.name, addresses={k: v for k, v in found.addresses.items() if k != network})

    def remove_network(self, name: str) -> None:
        self.networks.pop(name, None)

    def volumes(self, labels: Mapping[str, str]) -> list[str]:
        return sorted(name for name, has in self.volumes_.items() if labels.items() <= has.items())

    def label_values(self, label: str) -> list[str]:
        labelled = [*(c.labels for c in self.containers_.values()), *self.volumes_.values()]
        return sorted({labels[label] for labels in labelled if label in labels})

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self.volumes_.setdefault(name, dict(labels))
        self.calls.append(("create_volume", name))

    def has_volume(self, name: str) -> bool:
        return name in self.volumes_

    def remove_volume(self, name: str) -> bool:
        return self.volumes_.pop(name, None) is not None
