"""Review time of a bundle vs plain unzipping it (the baseline, measured in the same run).

Two bundles: a typical 20-file plugin, and a 200-file bundle just under the
40 MB unpacked limit (9-10 MB zipped). "review" is what an upload costs:
safe intake (streamed, vetted) plus every registered review check; "validate"
is ``mmo validate`` on the same zip. Goals: typical < 200 ms, large < 3 s.

    .venv/bin/python benchmarks/review_bundle.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from mmo_maid_sdk._validate import validate

from maidcore.extensions import Extensions
from maidcore.marketplace.review import review_path

MB = 1024 * 1024

MODULE = '''\
"""Helpers for {name}."""

import json
import re
from dataclasses import dataclass

PATTERN = re.compile(r"^!{name}\\s+(\\w+)")


@dataclass
class Record{i}:
    key: str
    value: int = 0

    def bump(self, amount=1):
        self.value += amount
        return self.value


def parse_{i}(text):
    match = PATTERN.match(text)
    return match.group(1) if match else None


def store_{i}(ctx, user_id, amount):
    current = ctx.kv.get(f"{name}:{{user_id}}") or 0
    ctx.kv.set(f"{name}:{{user_id}}", current + amount)
    rows = ctx.sql.query("SELECT total FROM totals WHERE user_id = $1", [user_id])
    return json.dumps({{"rows": rows, "current": current}})
'''

MAIN = """\
from mmo_maid_sdk import Plugin

{imports}

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("author_bot"):
        return
    for parse in ({parsers}):
        word = parse(event["content"])
        if word:
            ctx.discord.send_message(channel_id=event["channel_id"], content=word)


@plugin.on_slash_command("tally")
def tally(ctx, event):
    ctx.interaction.respond(content=str(ctx.kv.count("")))


@plugin.cron("0 9 * * *")
def daily_summary(ctx):
    ctx.sql.execute("DELETE FROM totals WHERE total = $1", [0])


if __name__ == "__main__":
    plugin.run()
"""


def plugin_files(modules: int) -> dict[str, bytes]:
    names = [f"mod{i}" for i in range(modules)]
    files = {f"{n}.py": (MODULE.format(name=n, i=i) * 6).encode() for i, n in enumerate(names)}
    files["__main__.py"] = MAIN.format(
        imports="\n".join(f"from {n} import parse_{i}" for i, n in enumerate(names)),
        parsers=", ".join(f"parse_{i}" for i in range(modules)) + ",",
    ).encode()
    files["manifest.json"] = json.dumps(
        {
            "id": "bench_plugin",
            "name": "Bench",
            "version": "1.0.0",
            "description": "A plugin to measure review time.",
            "capabilities_required": ["discord:send_message", "storage:kv", "storage:sql"],
            "slash_commands": [{"name": "tally", "description": "Show the tally"}],
            "cron": [{"name": "daily_summary", "spec": "0 9 * * *"}],
        }
    ).encode()
    return files


def typical(dest: Path) -> Path:
    files = plugin_files(13)
    files["README.md"] = b"# Bench\n" * 200
    files["requirements.txt"] = b"mmo-maid-sdk>=0.5.5,<0.6\n"
    for i in range(3):
        files[f"data/words{i}.json"] = json.dumps([f"word{j}" for j in range(2000)]).encode()
    assert len(files) == 20, len(files)
    return write_zip(dest, files)


def large(dest: Path) -> Path:
    files = plugin_files(39)
    rng = random.Random(7)
    vocabulary = [
        f"{w} "
        for w in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "mu", "pi")
    ]
    block = "".join(rng.choices(vocabulary, k=60_000)).encode()  # ~390 KB, compresses ~4.5x
    budget = 40 * MB - 64 * 1024 - sum(len(v) for v in files.values())
    count = 200 - len(files)
    size = budget // count
    for i in range(count):
        files[f"assets/chunk{i:03}.txt"] = (block * 2)[i : i + size]
    assert len(files) == 200
    return write_zip(dest, files)


def write_zip(dest: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return dest


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    exts = Extensions.load()
    checks = exts.review_checks()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, build, goal in (
            ("typical 20-file plugin", typical, 0.2),
            ("200-file bundle near 40 MB", large, 3.0),
        ):
            path = build(tmp / f"{label.split()[0]}.zip")
            with zipfile.ZipFile(path) as zf:
                unpacked = sum(i.file_size for i in zf.infolist())
                count = len(zf.infolist())
            report = review_path(checks, path)
            assert report.ok, [f.as_dict() for f in report.findings]

            def unzip(path=path):
                with tempfile.TemporaryDirectory(dir=tmp) as out, zipfile.ZipFile(path) as zf:
                    zf.extractall(out)

            baseline = timed(unzip, args.repeat)
            reviewed = timed(lambda path=path: review_path(checks, path), args.repeat)
            validated = timed(lambda path=path: validate(path), args.repeat)
            print(
                f"{label}: {count} files, {path.stat().st_size / MB:.2f} MB zipped, {unpacked / MB:.2f} MB unpacked, "
                f"{len(report.findings)} findings"
            )
            print(f"  unzip (baseline)  {baseline * 1000:8.1f} ms")
            print(
                f"  review            {reviewed * 1000:8.1f} ms  ({reviewed / baseline:.2f}x unzip; "
                f"goal < {goal * 1000:.0f} ms: "
                f"{'met' if reviewed < goal else 'MISSED'})"
            )
            print(f"  mmo validate      {validated * 1000:8.1f} ms  ({validated / baseline:.2f}x unzip)")


if __name__ == "__main__":
    main()
