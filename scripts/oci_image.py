#!/usr/bin/env python3
# The project's own container image writer: packs prebuilt static files onto an empty base, as
# described by deploy/Dockerfile, into an image archive that `ctr images import` and `docker load`
# read. Python 3.11 standard library only.
"""Write container images without a container engine and without a registry.

HIPAA Guard's images hold nothing but static executables and a CA bundle on `FROM scratch`, so
building them needs no base image, no build container and no daemon: only the files and the image
metadata. This script reads the metadata from deploy/Dockerfile itself, so that `docker build` of
the same file (for users who have docker) and this writer cannot describe different images.

It supports exactly the Dockerfile subset the project uses, and fails, naming the file and line, on
anything else rather than building something different from what docker would:

    FROM scratch [AS name]      LABEL k=v ...     COPY src dst     ENV k=v ...
    USER uid[:gid]              EXPOSE port[/proto] ...            WORKDIR dir
    ENTRYPOINT ["exec", "form"] CMD ["exec", "form"]

Output: a docker-archive (`manifest.json` with RepoTags, the config and gzip layers under
blobs/sha256/), not an OCI layout, because of how containerd 1.6 names what it imports (checked
with `ctr images import` of 1.6.20): from manifest.json's RepoTags it normalises `hipaa-guard/x:tag`
into the name kubelet looks up, so pods find the image and no registry host is written anywhere;
but as soon as the archive holds an `oci-layout` file, it reads index.json only (manifest.json is
ignored) and names the image with `org.opencontainers.image.ref.name` exactly as written, not
normalised, under which kubelet would not find it.

The output is deterministic: fixed timestamps (0), uid/gid 0, sorted entries, modes derived from
the executable bit only (0755 or 0644), gzip without name or time, and canonical JSON. The same
inputs give the same bytes, hence the same digests.

Commands:
    build         write one stage of a Dockerfile as an image archive
    check         parse and validate a Dockerfile (and optionally its context); print the stages as JSON
    check-static  fail unless each file is a static ELF executable for the architecture
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import stat
import struct
import sys
import tarfile
import time
from dataclasses import dataclass, field

SUPPORTED = ("FROM", "LABEL", "COPY", "ENV", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "WORKDIR")
SUPPORTED_TEXT = "FROM scratch, LABEL, COPY, ENV, USER, EXPOSE, ENTRYPOINT, CMD, WORKDIR"
# Instructions docker knows that this writer deliberately does not: each needs a base image, a
# build container or semantics the project does not use.
KNOWN_UNSUPPORTED = (
    "RUN", "ADD", "ARG", "SHELL", "HEALTHCHECK", "ONBUILD", "STOPSIGNAL", "VOLUME", "MAINTAINER",
)

# BuildKit gives a `FROM scratch` Linux image this PATH; the writer does too, so that `docker build`
# of deploy/Dockerfile and this writer produce the same image config.
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = "1970-01-01T00:00:00Z"

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# ELF e_machine per image architecture: a binary for another machine cannot run in the image.
ELF_MACHINES = {"amd64": 62, "arm64": 183}

# The docker reference grammar (distribution/reference), name and tag only: RepoTags hold tags,
# not digests.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
REFERENCE_RE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*:[\w][\w.-]{{0,127}}$"
)
STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9._-]*$")


class ImageError(Exception):
    """An error the user must fix: printed as one line, exit status 1."""


def where(path: str, line: int) -> str:
    return f"{path}:{line}"


# ---- Dockerfile parsing -----------------------------------------------------------------------


def logical_lines(text: str, path: str) -> list[tuple[int, str]]:
    """Docker's line handling: parser directives, comments, and `\\` continuations.

    Returns (first physical line number, joined text) for each instruction. Comment lines are
    dropped even inside a continuation, and the continued lines are joined without adding a space,
    both as docker's parser does.
    """
    lines = text.splitlines()
    # Parser directives are comments of the form `# key=value` before anything else. `syntax` only
    # selects a BuildKit frontend; `escape` would change the continuation character, which this
    # writer does not implement.
    for number, raw in enumerate(lines, start=1):
        m = re.match(r"^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$", raw)
        if not m:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key == "escape" and value != "\\":
            raise ImageError(f"{where(path, number)}: the escape directive {value!r} is not supported (only \\)")
        if key not in ("syntax", "escape", "check"):
            break
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue
        if not current and not stripped:
            continue
        if not current:
            start = number
        body = raw.rstrip()
        if body.endswith("\\"):
            current.append(body[:-1])
            continue
        current.append(raw)
        out.append((start, "".join(current).strip()))
        current = []
    if current:
        raise ImageError(f"{where(path, start)}: the instruction ends with a line continuation and no next line")
    return out


def raw_words(text: str, loc: str) -> list[str]:
    """Splits on unquoted whitespace, keeping quotes and escapes for unquote()."""
    words: list[str] = []
    cur: list[str] = []
    i = 0
    quote = ""
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and quote == '"' and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = ""
            i += 1
            continue
        if c in " \t":
            if cur:
                words.append("".join(cur))
                cur = []
            i += 1
            continue
        if c in "'\"":
            quote = c
        elif c == "\\" and i + 1 < len(text):
            cur.append(c)
            i += 1
            c = text[i]
        cur.append(c)
        i += 1
    if quote:
        raise ImageError(f"{loc}: unterminated {quote} quote")
    if cur:
        words.append("".join(cur))
    return words


def unquote(word: str, loc: str) -> str:
    """Docker's word processing without variables: quotes removed, backslash escapes applied.

    `$` (variable substitution) is an error, not left as it is: docker would substitute it, and
    an image that silently differs from docker's is worse than a failed build.
    """
    out: list[str] = []
    i = 0
    while i < len(word):
        c = word[i]
        if c == "'":
            j = word.find("'", i + 1)
            if j < 0:
                raise ImageError(f"{loc}: unterminated ' quote")
            out.append(word[i + 1 : j])
            i = j + 1
        elif c == '"':
            i += 1
            while True:
                if i >= len(word):
                    raise ImageError(f'{loc}: unterminated " quote')
                ch = word[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < len(word) and word[i + 1] in '"\\$`':
                    out.append(word[i + 1])
                    i += 2
                    continue
                if ch == "$":
                    raise ImageError(f"{loc}: variable substitution ($) is not supported; escape it as \\$")
                out.append(ch)
                i += 1
        elif c == "\\":
            if i + 1 >= len(word):
                raise ImageError(f"{loc}: a lone backslash at the end of a word")
            out.append(word[i + 1])
            i += 2
        elif c == "$":
            raise ImageError(f"{loc}: variable substitution ($) is not supported; escape it as \\$")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def key_values(args: str, instruction: str, loc: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    words = raw_words(args, loc)
    if not words:
        raise ImageError(f"{loc}: {instruction} needs at least one key=value")
    for word in words:
        if "=" not in word:
            raise ImageError(
                f"{loc}: {instruction} needs key=value pairs; the legacy `{instruction} key value` form is not supported"
            )
        key, value = word.split("=", 1)
        key = unquote(key, loc)
        if not key:
            raise ImageError(f"{loc}: {instruction} has an empty key")
        pairs.append((key, unquote(value, loc)))
    return pairs


def exec_form(args: str, instruction: str, loc: str) -> list[str]:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ImageError(
            f"{loc}: {instruction} must use the exec form, a non-empty JSON array of strings: the image has no shell for the shell form"
        )
    return value


@dataclass
class Copy:
    src: str  # relative to the context, normalised
    dst: str  # absolute in the image
    line: int
    text: str


@dataclass
class Mkdir:
    path: str
    line: int
    text: str


@dataclass
class Stage:
    name: str
    line: int
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    exposed: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    cmd_set: bool = False
    workdir: str | None = None
    # Filesystem changes, in order; each becomes one layer, as each does in docker.
    ops: list[Copy | Mkdir] = field(default_factory=list)
    # Every instruction after FROM, for the config's history.
    history: list[tuple[str, bool]] = field(default_factory=list)  # (created_by, empty_layer)


def parse_dockerfile(text: str, path: str) -> list[Stage]:
    stages: list[Stage] = []
    for line, content in logical_lines(text, path):
        loc = where(path, line)
        m = re.match(r"^(\S+)\s*(.*)$", content, re.S)
        if not m:
            continue
        instruction, args = m.group(1).upper(), m.group(2).strip()
        if instruction not in SUPPORTED:
            known = "" if instruction in KNOWN_UNSUPPORTED else " (not a Dockerfile instruction)"
            raise ImageError(
                f"{loc}: {instruction} is not supported{known}: this writer only packs prebuilt files onto an empty base; supported: {SUPPORTED_TEXT}"
            )
        if args.startswith("--"):
            flag = args.split()[0]
            raise ImageError(f"{loc}: {instruction} {flag}: flags are not supported")
        if "<<" in args and instruction == "COPY":
            raise ImageError(f"{loc}: COPY heredocs are not supported")
        if instruction == "FROM":
            words = raw_words(args, loc)
            if not words or words[0] != "scratch":
                raise ImageError(
                    f"{loc}: only FROM scratch is supported: no base image is pulled, the images hold nothing but their files"
                )
            if len(words) == 1:
                name = str(len(stages))
            elif len(words) == 3 and words[1].upper() == "AS":
                name = words[2].lower()
                if not STAGE_NAME_RE.match(name):
                    raise ImageError(f"{loc}: invalid stage name {words[2]!r}")
                if any(s.name == name for s in stages):
                    raise ImageError(f"{loc}: duplicate stage name {name!r}")
            else:
                raise ImageError(f"{loc}: expected `FROM scratch` or `FROM scratch AS name`")
            stages.append(Stage(name=name, line=line))
            continue
        if not stages:
            raise ImageError(f"{loc}: {instruction} before the first FROM")
        stage = stages[-1]
        created_by = f"{instruction} {args}"
        if instruction == "LABEL":
            for key, value in key_values(args, "LABEL", loc):
                stage.labels[key] = value
        elif instruction == "ENV":
            for key, value in key_values(args, "ENV", loc):
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                    raise ImageError(f"{loc}: invalid environment variable name {key!r}")
                stage.env[key] = value
        elif instruction == "USER":
            words = [unquote(w, loc) for w in raw_words(args, loc)]
            if len(words) != 1 or not re.match(r"^[0-9]+(:[0-9]+)?$", words[0]):
                raise ImageError(
                    f"{loc}: USER needs a numeric uid[:gid]: the image has no /etc/passwd to resolve a name"
                )
            stage.user = words[0]
        elif instruction == "EXPOSE":
            words = [unquote(w, loc) for w in raw_words(args, loc)]
            if not words:
                raise ImageError(f"{loc}: EXPOSE needs at least one port")
            for word in words:
                pm = re.match(r"^([0-9]+)(?:/(tcp|udp|sctp))?$", word.lower())
                if not pm or not 0 < int(pm.group(1)) < 65536:
                    raise ImageError(f"{loc}: EXPOSE {word!r}: expected port[/tcp|udp|sctp]")
                port = f"{int(pm.group(1))}/{pm.group(2) or 'tcp'}"
                if port not in stage.exposed:
                    stage.exposed.append(port)
        elif instruction == "ENTRYPOINT":
            stage.entrypoint = exec_form(args, "ENTRYPOINT", loc)
            # As docker does: a new ENTRYPOINT drops a CMD inherited from the base (there is none
            # on scratch) but keeps one set earlier in this stage.
            if not stage.cmd_set:
                stage.cmd = None
        elif instruction == "CMD":
            stage.cmd = exec_form(args, "CMD", loc)
            stage.cmd_set = True
        elif instruction == "WORKDIR":
            words = [unquote(w, loc) for w in raw_words(args, loc)]
            if len(words) != 1:
                raise ImageError(f"{loc}: WORKDIR takes one path")
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir or "/", words[0]))
            # BuildKit creates the directory in a layer of its own; so does this writer.
            stage.ops.append(Mkdir(path=stage.workdir, line=line, text=created_by))
            stage.history.append((created_by, False))
            continue
        elif instruction == "COPY":
            if args.startswith("["):
                raise ImageError(f"{loc}: the JSON form of COPY is not supported; use COPY src dst")
            words = [unquote(w, loc) for w in raw_words(args, loc)]
            if len(words) != 2:
                raise ImageError(f"{loc}: COPY takes exactly one source file and one destination")
            src, dst = words
            if any(ch in src for ch in "*?["):
                raise ImageError(f"{loc}: COPY {src!r}: wildcards are not supported")
            norm = posixpath.normpath(src.lstrip("/")) if src.startswith("/") else posixpath.normpath(src)
            if norm == ".." or norm.startswith("../") or norm == ".":
                raise ImageError(f"{loc}: COPY {src!r}: the source must be a file inside the build context")
            if dst.endswith("/"):
                dst = posixpath.join(dst, posixpath.basename(norm))
            dst = posixpath.normpath(posixpath.join(stage.workdir or "/", dst))
            if dst == "/":
                raise ImageError(f"{loc}: COPY {src!r} /: the destination must name a file")
            stage.ops.append(Copy(src=norm, dst=dst, line=line, text=created_by))
            stage.history.append((created_by, False))
            continue
        stage.history.append((created_by, True))
    if not stages:
        raise ImageError(f"{path}: no FROM instruction")
    return stages


def select_stage(stages: list[Stage], target: str | None, path: str) -> Stage:
    if target is None:
        return stages[-1]
    for stage in stages:
        if stage.name == target.lower():
            return stage
    names = ", ".join(s.name for s in stages)
    raise ImageError(f"{path}: no stage named {target!r} (stages: {names})")


# ---- ELF inspection ---------------------------------------------------------------------------


@dataclass
class Elf:
    machine: int
    interpreter: str | None
    needed: int  # DT_NEEDED entries: shared libraries the loader would have to find


def read_elf(data: bytes, name: str) -> Elf | None:
    """The program headers of an ELF file, or None when `data` is not ELF."""
    if data[:4] != b"\x7fELF":
        return None
    try:
        cls, endian = data[4], data[5]
        if cls not in (1, 2) or endian not in (1, 2):
            raise ImageError(f"{name}: malformed ELF header")
        e = "<" if endian == 1 else ">"
        (machine,) = struct.unpack_from(e + "H", data, 18)
        if cls == 2:
            phoff, = struct.unpack_from(e + "Q", data, 32)
            phentsize, phnum = struct.unpack_from(e + "HH", data, 54)
            ph_fmt, dyn_fmt = e + "IIQQQQQQ", e + "qQ"
        else:
            phoff, = struct.unpack_from(e + "I", data, 28)
            phentsize, phnum = struct.unpack_from(e + "HH", data, 42)
            ph_fmt, dyn_fmt = e + "IIIIIIII", e + "iI"
        interpreter = None
        needed = 0
        for i in range(phnum):
            fields = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
            if cls == 2:
                p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = fields[:6]
            else:
                p_type, p_offset, _vaddr, _paddr, p_filesz = fields[:5]
            if p_type == 3:  # PT_INTERP
                interpreter = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode("utf-8", "replace")
            elif p_type == 2:  # PT_DYNAMIC: static-pie has one too, but without DT_NEEDED
                size = struct.calcsize(dyn_fmt)
                for off in range(p_offset, p_offset + p_filesz - size + 1, size):
                    tag, _val = struct.unpack_from(dyn_fmt, data, off)
                    if tag == 0:  # DT_NULL
                        break
                    if tag == 1:  # DT_NEEDED
                        needed += 1
        return Elf(machine=machine, interpreter=interpreter, needed=needed)
    except struct.error as err:
        raise ImageError(f"{name}: truncated or malformed ELF file ({err})") from err


def require_static(data: bytes, name: str, arch: str) -> None:
    """An image on an empty base has no loader and no libraries: only static ELF files run in it."""
    elf = read_elf(data, name)
    if elf is None:
        return
    if elf.interpreter is not None or elf.needed:
        raise ImageError(
            f"{name}: dynamically linked (interpreter {elf.interpreter}, {elf.needed} shared libraries); "
            "the image has no base, so only static executables run in it"
        )
    want = ELF_MACHINES[arch]
    if elf.machine != want:
        raise ImageError(f"{name}: ELF machine {elf.machine}, not {arch} ({want})")


# ---- image writing ----------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def tar_info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def parents(path: str) -> list[str]:
    """The directories above an absolute image path, outermost first, without the root."""
    parts = path.strip("/").split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def make_layer(dirs: list[str], files: list[tuple[str, bytes, int]]) -> bytes:
    """A layer tar: directories (0755) and regular files, every entry owned by 0:0 at time 0."""
    entries: dict[str, tuple[bytes, int, bytes]] = {}
    for d in dirs:
        entries[d] = (tarfile.DIRTYPE, 0o755, b"")
    for name, content, mode in files:
        for d in parents("/" + name):
            entries.setdefault(d, (tarfile.DIRTYPE, 0o755, b""))
        entries[name] = (tarfile.REGTYPE, mode, content)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(entries, key=lambda n: n.split("/")):
            kind, mode, content = entries[name]
            tf.addfile(tar_info(name, kind, mode, len(content)), io.BytesIO(content) if content else None)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    # No file name and mtime 0 in the gzip header: nothing about this machine or moment.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def read_context_file(context: str, src: str, loc: str) -> tuple[bytes, int]:
    """The file's content and its image mode: 0755 when executable, else 0644."""
    root = os.path.realpath(context)
    path = os.path.realpath(os.path.join(root, src))
    if path != root and not path.startswith(root + os.sep):
        raise ImageError(f"{loc}: COPY {src!r} leaves the build context {context}")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageError(f"{loc}: COPY {src!r}: not found in the build context {context}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"{loc}: COPY {src!r} is a directory: only files are supported")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"{loc}: COPY {src!r} is not a regular file")
    with open(path, "rb") as f:
        data = f.read()
    # Only the executable bit is taken from the context: umask, owner and time stay out of the image.
    mode = 0o755 if st.st_mode & 0o111 else 0o644
    return data, mode


@dataclass
class Built:
    archive: bytes
    config_digest: str
    manifest_digest: str  # the manifest containerd 1.6's importer writes for this archive
    compressed: int  # config + gzip layers: what a registry stores and a node pulls
    uncompressed: int  # the layer tars: what the node unpacks


def image_config(stage: Stage, arch: str, diff_ids: list[str]) -> dict:
    config: dict = {"Env": [DEFAULT_PATH] + [f"{k}={v}" for k, v in stage.env.items() if k != "PATH"]}
    if "PATH" in stage.env:
        config["Env"][0] = f"PATH={stage.env['PATH']}"
    if stage.user is not None:
        config["User"] = stage.user
    if stage.exposed:
        config["ExposedPorts"] = {p: {} for p in stage.exposed}
    if stage.entrypoint is not None:
        config["Entrypoint"] = stage.entrypoint
    if stage.cmd is not None:
        config["Cmd"] = stage.cmd
    if stage.workdir is not None:
        config["WorkingDir"] = stage.workdir
    if stage.labels:
        config["Labels"] = dict(stage.labels)
    return {
        "architecture": arch,
        "os": "linux",
        "created": EPOCH,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": EPOCH, "created_by": f"{text} # oci_image.py", **({"empty_layer": True} if empty else {})}
            for text, empty in stage.history
        ],
    }


def build(stage: Stage, context: str, path: str, tag: str, arch: str) -> Built:
    if not REFERENCE_RE.match(tag):
        raise ImageError(f"--tag {tag!r}: expected name:tag (lowercase name, explicit tag, no digest)")
    if not os.path.isdir(context):
        raise ImageError(f"build context {context} is not a directory")
    blobs: dict[str, bytes] = {}
    layers: list[str] = []
    diff_ids: list[str] = []
    uncompressed = 0
    for op in stage.ops:
        loc = where(path, op.line)
        if isinstance(op, Copy):
            data, mode = read_context_file(context, op.src, loc)
            require_static(data, f"{loc}: COPY {op.src}", arch)
            raw = make_layer([], [(op.dst.lstrip("/"), data, mode)])
        else:
            raw = make_layer(parents(op.path + "/x"), [])
        gz = gzip_bytes(raw)
        digest = sha256(gz)
        blobs[digest] = gz
        layers.append(digest)
        diff_ids.append(sha256(raw))
        uncompressed += len(raw)
    config = canonical_json(image_config(stage, arch, diff_ids))
    config_digest = sha256(config)
    blobs[config_digest] = config

    def blob_path(digest: str) -> str:
        return "blobs/sha256/" + digest.split(":", 1)[1]

    manifest = canonical_json(
        [{"Config": blob_path(config_digest), "RepoTags": [tag], "Layers": [blob_path(d) for d in layers]}]
    )
    members: dict[str, bytes | None] = {"blobs": None, "blobs/sha256": None, "manifest.json": manifest}
    for digest, data in blobs.items():
        members[blob_path(digest)] = data
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(members):
            data = members[name]
            if data is None:
                tf.addfile(tar_info(name, tarfile.DIRTYPE, 0o755))
            else:
                tf.addfile(tar_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))

    # containerd's importer turns manifest.json into this Docker schema 2 manifest (Go's json.Marshal
    # of its struct, field order as declared): its digest is the one `ctr images ls` shows.
    def descriptor(media: str, digest: str, size: int) -> str:
        return f'{{"mediaType":"{media}","digest":"{digest}","size":{size}}}'

    ctr_manifest = (
        f'{{"schemaVersion":2,"mediaType":"{MEDIA_DOCKER_MANIFEST}",'
        f'"config":{descriptor(MEDIA_DOCKER_CONFIG, config_digest, len(config))},'
        f'"layers":[{",".join(descriptor(MEDIA_DOCKER_LAYER_GZIP, d, len(blobs[d])) for d in layers)}]}}'
    ).encode()
    return Built(
        archive=out.getvalue(),
        config_digest=config_digest,
        manifest_digest=sha256(ctr_manifest),
        compressed=len(config) + sum(len(blobs[d]) for d in layers),
        uncompressed=uncompressed,
    )


# ---- commands ---------------------------------------------------------------------------------


def read_dockerfile(path: str) -> list[Stage]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise ImageError(f"cannot read {path}: {err.strerror}") from None
    return parse_dockerfile(text, path)


def stage_json(stage: Stage, context: str | None, path: str) -> dict:
    copies = []
    for op in stage.ops:
        if isinstance(op, Copy):
            entry: dict = {"src": op.src, "dst": op.dst}
            if context is not None:
                _, mode = read_context_file(context, op.src, where(path, op.line))
                entry["mode"] = f"{mode:04o}"
            copies.append(entry)
    return {
        "name": stage.name,
        "labels": stage.labels,
        "env": stage.env,
        "user": stage.user,
        "exposed_ports": stage.exposed,
        "entrypoint": stage.entrypoint,
        "cmd": stage.cmd,
        "workdir": stage.workdir,
        "copies": copies,
    }


def mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def cmd_build(args: argparse.Namespace) -> None:
    started = time.monotonic()
    stage = select_stage(read_dockerfile(args.dockerfile), args.target, args.dockerfile)
    built = build(stage, args.context, args.dockerfile, args.tag, args.arch)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = f"{args.output}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(built.archive)
    os.replace(tmp, args.output)
    elapsed = time.monotonic() - started
    if args.json:
        print(json.dumps({
            "tag": args.tag,
            "output": args.output,
            "config_digest": built.config_digest,
            "manifest_digest": built.manifest_digest,
            "compressed_bytes": built.compressed,
            "uncompressed_bytes": built.uncompressed,
            "archive_bytes": len(built.archive),
            "seconds": round(elapsed, 3),
        }, sort_keys=True))
    else:
        print(
            f"{args.tag}: {args.output}: compressed {mib(built.compressed)}, uncompressed {mib(built.uncompressed)}, "
            f"image id {built.config_digest[:19]}, manifest {built.manifest_digest} (as ctr import stores it), "
            f"{elapsed:.1f}s"
        )


def cmd_check(args: argparse.Namespace) -> None:
    stages = read_dockerfile(args.dockerfile)
    if args.context is not None and not os.path.isdir(args.context):
        raise ImageError(f"build context {args.context} is not a directory")
    print(json.dumps({"dockerfile": args.dockerfile, "stages": [stage_json(s, args.context, args.dockerfile) for s in stages]}, indent=2))


def cmd_check_static(args: argparse.Namespace) -> None:
    for name in args.files:
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError as err:
            raise ImageError(f"cannot read {name}: {err.strerror}") from None
        if read_elf(data, name) is None:
            raise ImageError(f"{name}: not an ELF file")
        require_static(data, name, args.arch)
        print(f"{name}: static {args.arch} ELF, no interpreter, no shared libraries")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="oci_image.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="write one stage of a Dockerfile as an image archive")
    p.add_argument("--dockerfile", required=True)
    p.add_argument("--context", required=True, help="directory the COPY sources are read from")
    p.add_argument("--target", help="stage name (default: the last stage)")
    p.add_argument("--tag", required=True, help="image reference recorded in the archive, name:tag")
    p.add_argument("--output", required=True, help="the archive to write")
    p.add_argument("--arch", default="amd64", choices=sorted(ELF_MACHINES))
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="parse and validate a Dockerfile; print its stages as JSON")
    p.add_argument("--dockerfile", required=True)
    p.add_argument("--context", help="also check that every COPY source is a file in this directory")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("check-static", help="fail unless each file is a static ELF executable")
    p.add_argument("--arch", default="amd64", choices=sorted(ELF_MACHINES))
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_check_static)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ImageError as err:
        print(f"oci_image.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
