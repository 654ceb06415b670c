"""The browser assets that Great Expectations 1.x Data Docs pages load from CDNs, vendored under
``pipeline/validate/static/`` so that the pages work offline.

``CDN`` maps each URL that GX's templates (``great_expectations/render/view/templates``) write to
the file that replaces it. Every file comes from the npm package named in ``NPM_PACKAGES`` at the
pinned version (the tarball's integrity is pinned too); ``SHA256SUMS`` in the static folder pins
each vendored file. Where the templates carry an SRI hash (Bootstrap's and Popper's scripts) the
vendored file matches it. Floating CDN versions (``vega@5``) are pinned to the latest release of
that major version when vendored.

``python -m pipeline.validate.assets check`` verifies the vendored files; ``... fetch`` downloads
the packages again with ``npm pack`` and rewrites them and ``SHA256SUMS``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
SUMS_FILE = STATIC_DIR / "SHA256SUMS"

_FA_FONTS = tuple(
    f"webfonts/fa-{name}.{ext}" for name in ("brands-400", "regular-400", "solid-900", "v4compatibility") for ext in ("woff2", "ttf")
)

# npm spec -> (tarball integrity, files taken from the package)
NPM_PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "bootstrap@4.3.1": (
        "sha512-rXqOmH1VilAt2DyPzluTi2blhk17bO7ef+zLLPlWvG494pDxcM234pJ8wTc/6R40UWizAIIMgxjvxZg5kmsbag==",
        ("LICENSE", "dist/css/bootstrap.min.css", "dist/js/bootstrap.min.js"),
    ),
    "bootstrap-table@1.19.1": (
        "sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA==",
        ("LICENSE", "dist/bootstrap-table.min.css", "dist/bootstrap-table.min.js", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    ),
    "bootstrap-table@1.19.0": (
        "sha512-L+USHm3X9FKocx/6yngGu12yF6r6s1Ntuc+hoIK2a2QQJjHw5kcySLiE2HY/9sEaSGAOfPbfQOtBH3uKkcpqEA==",
        ("LICENSE", "dist/extensions/filter-control/bootstrap-table-filter-control.css", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    ),
    "bootstrap-datepicker@1.9.0": (
        "sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA==",
        ("LICENSE", "dist/css/bootstrap-datepicker.min.css", "dist/js/bootstrap-datepicker.min.js"),
    ),
    "@forevolve/bootstrap-dark@1.1.0": (
        "sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A==",
        ("LICENSE", "dist/css/bootstrap-prefers-dark.css"),
    ),
    "@fortawesome/fontawesome-free@6.6.0": (
        "sha512-60G28ke/sXdtS9KZCpZSHHkCbdsOGEhIUGlwq6yhY74UpTiToIh8np7A8yphhM4BWsvNFtIvLpi4co+h9Mr9Ow==",
        ("LICENSE.txt", "css/all.min.css", *_FA_FONTS),  # all.min.css loads ../webfonts/*
    ),
    "jquery@3.7.1": (
        "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        ("LICENSE.txt", "dist/jquery.min.js"),
    ),
    # The next two ship no licence file; static/<dir>/LICENSE is added by hand (see static/PACKAGES.md).
    "popper.js@1.12.9": (
        "sha512-s0EEi9xiSCdqz9lV4IiVH5yIZnDX/U1t0tCjB+0jXx9jW8lrR7kOpVupiUg175ogqVoudpDXHF1p6dKATCHMeg==",
        ("dist/umd/popper.min.js",),
    ),
    "vega@5.33.1": (
        "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
        ("build/vega.min.js",),
    ),
    "vega-lite@5.23.0": (
        "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
        ("LICENSE", "build/vega-lite.min.js"),
    ),
    "vega-embed@6.29.0": (
        "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
        ("LICENSE", "build/vega-embed.min.js"),
    ),
}


def local_path(spec: str, name: str) -> str:
    """Where a package's file lives under static/: ``@scope/pkg@1.2.3`` + ``dist/x.js`` -> ``pkg-1.2.3/x.js``
    (a leading dist/ or build/ is dropped: the repository ignores such folders)."""
    package, version = spec.rsplit("@", 1)
    for prefix in ("dist/", "build/"):
        name = name.removeprefix(prefix)
    return f"{package.rsplit('/', 1)[-1]}-{version}/{name}"


# URL in GX 1.x's templates -> file under static/ (jsDelivr serves a package's "jsdelivr" file for a bare name)
CDN: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/umd/popper.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendored_files() -> dict[str, str]:
    """Every file under static/ that SHA256SUMS pins (path relative to static/ -> sha256)."""
    sums = {}
    for line in SUMS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def check() -> list[str]:
    """Problems with the vendored files (missing, altered, unlisted); empty when all is well."""
    sums = vendored_files()
    problems = [f"{name}: missing" for name in sums if not (STATIC_DIR / name).is_file()]
    problems += [f"{name}: sha256 differs" for name, digest in sums.items() if (STATIC_DIR / name).is_file() and _sha256(STATIC_DIR / name) != digest]
    wanted = {local_path(spec, f) for spec, (_, files) in NPM_PACKAGES.items() for f in files} | set(CDN.values())
    problems += [f"{name}: not in SHA256SUMS" for name in sorted(wanted - set(sums))]
    return problems


def fetch() -> None:
    """Download every package with ``npm pack`` (it checks the registry's integrity; we check ours
    too), copy the listed files under static/ and rewrite SHA256SUMS (hand-added files kept)."""
    import base64

    with tempfile.TemporaryDirectory() as tmp:
        for spec, (integrity, files) in NPM_PACKAGES.items():
            out = subprocess.run(["npm", "pack", spec, "--pack-destination", tmp, "--silent"], check=True, capture_output=True, text=True)
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
            digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if digest != integrity:
                raise SystemExit(f"{spec}: tarball integrity {digest} != pinned {integrity}")
            with tarfile.open(tarball) as tar:
                for name in files:
                    data = tar.extractfile(f"package/{name}").read()
                    target = STATIC_DIR / local_path(spec, name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
    names = {str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file()} - {SUMS_FILE.name, "PACKAGES.md"}
    SUMS_FILE.write_text("".join(f"{_sha256(STATIC_DIR / n)}  {n}\n" for n in sorted(names)), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command == ["fetch"]:
        fetch()
    elif command != ["check"]:
        print("usage: python -m pipeline.validate.assets [check|fetch]", file=sys.stderr)
        return 2
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(vendored_files())} vendored files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
