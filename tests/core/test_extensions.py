"""Extension loading: isolation of broken extensions, strict mode, the env vars, check_pending, the facade."""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint

import click
import pluggy
import pytest

from maidcore.extensions import DuplicateRegistration, Extensions, UnknownImplementation
from maidcore.hookspecs import hookimpl

GOOD = """
from maidcore.hookspecs import hookimpl

@hookimpl
def register_rate_limiters(register):
    register("{name}", lambda context: "{name}-limiter")
"""


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Write importable modules; returns a function ``write(name, source)``."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> EntryPoint:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return EntryPoint(name=name.removeprefix("ext_"), value=name, group="maidcore")

    return write


def test_broken_extension_is_reported_and_skipped(modules):
    eps = [
        modules("ext_first", GOOD.format(name="first")),
        modules("ext_broken", "import this_module_does_not_exist_anywhere\n"),
        modules("ext_raises", "raise RuntimeError('boom at import')\n"),
        modules("ext_last", GOOD.format(name="last")),
    ]
    exts = Extensions.load(environ={}, entry_points_=eps)
    assert [e.name for e in exts.report.loaded] == ["first", "last"]
    failed = {f.name: f for f in exts.report.failed}
    assert set(failed) == {"broken", "raises"}
    assert "No module named 'this_module_does_not_exist_anywhere'" in failed["broken"].error
    assert "Traceback" in failed["raises"].error
    assert failed["raises"].summary == "RuntimeError: boom at import"
    assert set(exts.rate_limiters()) == {"first", "last"}


def test_strict_mode_reraises(modules):
    eps = [modules("ext_ok", GOOD.format(name="ok")), modules("ext_bad", "raise RuntimeError('strict boom')\n")]
    with pytest.raises(RuntimeError, match="strict boom"):
        Extensions.load(environ={"MAIDCORE_STRICT_EXTENSIONS": "1"}, entry_points_=eps)


def test_load_env_var_loads_only_named(modules):
    eps = [modules(f"ext_{n}", GOOD.format(name=n)) for n in ("aa", "bb", "cc")]
    exts = Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": "cc, aa,nothere"}, entry_points_=eps)
    assert sorted(e.name for e in exts.report.loaded) == ["aa", "cc"]
    assert exts.report.blocked == ["bb"]
    assert exts.report.missing == ["nothere"]


def test_empty_load_env_var_loads_nothing(modules):
    eps = [modules("ext_solo", GOOD.format(name="solo"))]
    exts = Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": ""}, entry_points_=eps)
    assert exts.report.loaded == []
    assert exts.rate_limiters() == {}


def test_block_env_var_skips_named(modules):
    eps = [modules(f"ext_{n}", GOOD.format(name=n)) for n in ("keep", "drop")]
    exts = Extensions.load(environ={"MAIDCORE_BLOCK_EXTENSIONS": "drop"}, entry_points_=eps)
    assert [e.name for e in exts.report.loaded] == ["keep"]
    assert exts.report.blocked == ["drop"]


MISSPELT = """
from maidcore.hookspecs import hookimpl

@hookimpl
def register_rate_limiter(register):  # missing the final "s": would never be called
    register("typo", object)
"""


def test_check_pending_catches_misspelt_hookimpl(modules):
    eps = [modules("ext_typo", MISSPELT), modules("ext_fine", GOOD.format(name="fine"))]
    exts = Extensions.load(environ={}, entry_points_=eps)
    assert [e.name for e in exts.report.loaded] == ["fine"]
    (failure,) = exts.report.failed
    assert failure.name == "typo"
    assert "unknown hook 'register_rate_limiter'" in failure.error
    assert "register_rate_limiters" in failure.error  # the message lists the real hook names
    assert "typo" not in exts.names


def test_check_pending_strict_raises(modules):
    eps = [modules("ext_typo", MISSPELT)]
    with pytest.raises(pluggy.PluginValidationError, match="register_rate_limiter"):
        Extensions.load(environ={"MAIDCORE_STRICT_EXTENSIONS": "1"}, entry_points_=eps)


def test_loaded_extension_records_distribution_and_version():
    exts = Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": "limits"})
    (loaded,) = exts.report.loaded
    assert (loaded.name, loaded.module, loaded.distribution) == ("limits", "maidcore_limits.extension", "maidcore")
    assert loaded.version


class _Registers:
    def __init__(self, name: str, **kinds: str) -> None:
        self.name = name
        self.kinds = kinds

    @hookimpl
    def register_event_sources(self, register):
        if "event_source" in self.kinds:
            register(self.kinds["event_source"], lambda context: f"{self.name}-events")

    @hookimpl
    def register_sandbox_backends(self, register):
        if "sandbox" in self.kinds:
            register(self.kinds["sandbox"], lambda context: f"{self.name}-sandbox")

    @hookimpl
    def register_storage(self, register):
        if "storage" in self.kinds:
            register(self.kinds["storage"], lambda context: f"{self.name}-storage")


def test_facade_returns_each_layer_by_name():
    exts = Extensions(strict=True)
    exts.register(_Registers("one", event_source="gw", sandbox="box", storage="db"), name="one")
    exts.register(_Registers("two", sandbox="box2"), name="two")
    assert exts.event_sources()["gw"](None) == "one-events"
    assert set(exts.sandbox_backends()) == {"box", "box2"}
    assert exts.storage()["db"](None) == "one-storage"
    assert exts.choose("sandbox_backend", "box2").extension == "two"


def test_duplicate_names_name_both_extensions():
    exts = Extensions(strict=True)
    exts.register(_Registers("alpha", sandbox="shared"), name="alpha")
    exts.register(_Registers("beta", sandbox="shared"), name="beta")
    with pytest.raises(DuplicateRegistration) as info:
        exts.sandbox_backends()
    message = str(info.value)
    assert "'shared'" in message and "'alpha'" in message and "'beta'" in message
    assert "MAIDCORE_BLOCK_EXTENSIONS" in message


def test_unknown_choice_lists_registered_names():
    exts = Extensions(strict=True)
    exts.register(_Registers("one", storage="sqlite_like"), name="one")
    with pytest.raises(UnknownImplementation, match=r"unknown storage_backend 'postgres'.*sqlite_like"):
        exts.choose("storage_backend", "postgres")


def test_add_commands_isolates_a_failing_extension():
    class Adds:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("hello-ext")
            def hello():
                click.echo("hi")

    class Fails:
        @hookimpl
        def register_commands(self, cli):
            raise ValueError("cannot add commands")

    exts = Extensions()
    exts.register(Adds(), name="adds")
    exts.register(Fails(), name="fails")
    group = click.Group("maidcore")
    exts.add_commands(group)
    assert "hello-ext" in group.commands
    assert [(f.name, f.value) for f in exts.report.failed] == [("fails", "register_commands()")]
    assert "cannot add commands" in exts.report.failed[0].error


async def test_startup_awaits_coroutines_and_shutdown_survives_failures():
    calls = []

    class Sync:
        @hookimpl
        def maidcore_startup(self, platform):
            calls.append(("sync start", platform))

        @hookimpl
        def maidcore_shutdown(self):
            raise RuntimeError("shutdown failed")

    class Async:
        @hookimpl
        async def maidcore_startup(self, platform):
            calls.append(("async start", platform))

        @hookimpl
        async def maidcore_shutdown(self, platform):
            calls.append(("async stop", platform))

    exts = Extensions()
    exts.register(Sync(), name="sync")
    exts.register(Async(), name="async")
    await exts.startup("P")
    await exts.shutdown("P")
    assert sorted(calls) == [("async start", "P"), ("async stop", "P"), ("sync start", "P")]


def test_a_registration_hook_that_raises_is_reported_and_skipped():
    class Raises:
        @hookimpl
        def register_storage(self, register):
            register("half", lambda context: "registered before the error")
            raise RuntimeError("storage extension bug")

    exts = Extensions()
    exts.register(_Registers("good", storage="db"), name="good")
    exts.register(Raises(), name="raises")
    assert set(exts.storage()) == {"db"}  # "half", registered before the error, is dropped too
    assert exts.storage()["db"](None) == "good-storage"
    (failure,) = exts.report.failed  # reported once, however often the layer is asked for
    assert (failure.name, failure.value, failure.summary) == (
        "raises",
        "register_storage()",
        "RuntimeError: storage extension bug",
    )

    strict = Extensions(strict=True)
    strict.register(Raises(), name="raises")
    with pytest.raises(RuntimeError, match="storage extension bug"):
        strict.storage()


BAD_ARGUMENT = """
from maidcore.hookspecs import hookimpl

@hookimpl
def register_event_sources(register):
    register("half_events", object)

@hookimpl
def register_storage(register, colour):  # "colour" is no argument of the hook
    register("never", object)
"""


def test_hookimpl_with_an_unknown_argument_is_reported_and_leaves_nothing_registered(modules):
    exts = Extensions.load(environ={}, entry_points_=[modules("ext_badarg", BAD_ARGUMENT)])
    (failure,) = exts.report.failed
    assert failure.name == "badarg" and "colour" in failure.error
    assert exts.names == [] and exts.event_sources() == {}  # the valid hook of that module is gone too
