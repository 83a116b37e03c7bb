"""The one list of deliberate differences from the official SDK 0.10.1, each with its reason.

Keys are ``kit:<case>``, ``wire:<case>`` and ``scenario:<step>`` of ``corpus.py``. Every entry is
an addition that changes no result an official-SDK plugin suite relies on (new accepted input,
more structured information read from a host, more detail sent to a maidcore host).
"""

_DATA = (
    "our SDK also reads the structured fields older maidcore hosts put under error.data (code, retry_after, "
    "status_code, permission) when the error object itself does not carry them; the official SDK reads only "
    "the error object and the message text"
)

ALLOWED: dict[str, str] = {
    "wire:error.code_wins_over_data": _DATA + " (here: retry_after from data instead of the 5 s default)",
    "wire:error.maidcore_rate_limit": _DATA + " (retry_after 12 from data, not 60 from 'remaining=0/min')",
    "wire:error.maidcore_permission": _DATA + " (permission from data, not empty)",
    "wire:error.maidcore_discord_api": _DATA + " (status_code 502 from data when the text has no number)",
    "wire:error.maidcore_code_only_in_data": _DATA + " (CapabilityError from data.code instead of RpcError)",
    "kit:signatures.testing._MockHttp": (
        "the HTTP mock also has allow_host/revoke_host (recorded in allowed_hosts/revoked_hosts), so a plugin "
        "using ctx.http.allow_host (0.10.0) can be tested; the official mock has no such methods"
    ),
    "kit:signatures.plugin": (
        "on_ready/on_install/on_enable/on_disable/on_uninstall also work called with no argument "
        "(@plugin.on_ready()), and on_modal_submit also takes prefix= like on_component; the official "
        "decorators accept only the bare form and an exact custom_id"
    ),
    "kit:signatures.context._KvApi": (
        "ctx.kv.list_values also takes start_after= (paging like kv.list, sent only when given); the official "
        "signature has no such parameter"
    ),
    "kit:signatures.testing._MockKv": (
        "the mock's kv.list_values takes start_after= too (see kit:signatures.context._KvApi)"
    ),
    "kit:plugin.modal_prefix_form": "on_modal_submit(prefix=...) is an addition (see kit:signatures.plugin)",
    "scenario:handler_raises": (
        "event.fail also carries 'error': '<ExceptionType>: <message>' so the host can show why a delivery "
        "failed (dead letters); the official SDK sends only event_id and reason"
    ),
}
