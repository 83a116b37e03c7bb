# ruff: noqa: E501 - the corpus is data: one call per line reads best
"""The differential corpus: calls run on our SDK and on the official wheels, whose outcomes must agree.

Three parts, each plain data (nothing here imports an SDK):

- ``KIT``: in-process cases run by ``kit_driver.py`` — every testing-kit mock method with valid
  and invalid arguments, ``make_event`` for every type, components, dashboard builders,
  decorators and exception classes. A case is ``{"id", "code", "setup"?, "observe"?}``.
- ``WIRE``: cases run by ``wire_plugin.py`` inside a real plugin process against the in-test
  host — every ``ctx`` method with valid and odd arguments and every host error shape. The host
  answers each request from ``answers``; the recorded request bytes and the outcome are compared.
- ``SCENARIOS`` / ``POOL_SCENARIOS``: host messages fed to ``scenario_plugin.py`` (deliveries of
  every kind, lifecycle, dashboards, WebSocket frames, cron, malformed input) and the lines the
  plugin writes back.
"""

from __future__ import annotations

from typing import Any

Case = dict[str, Any]

# -- testing kit and builders --------------------------------------------------------------------

DISCORD_LISTS = [
    "messages_sent",
    "messages_edited",
    "messages_deleted",
    "messages_pinned",
    "messages_unpinned",
    "reactions_added",
    "roles_added",
    "roles_removed",
    "members_banned",
    "members_unbanned",
    "members_kicked",
    "members_timed_out",
    "nicknames_set",
    "channels_created",
    "channels_edited",
    "channels_deleted",
    "threads_created",
    "threads_edited",
    "permissions_set",
    "permissions_deleted",
    "webhooks_created",
    "webhooks_executed",
    "webhooks_deleted",
]
RECORDED = f"[(n, getattr(ctx.discord, n)) for n in {DISCORD_LISTS!r} if getattr(ctx.discord, n)]"
INTERACTION_LISTS = [
    "ctx.interaction.responses",
    "ctx.interaction.followups",
    "ctx.interaction.defers",
    "ctx.modals_sent",
]

KIT: list[Case] = []


def kit(case_id: str, code: str, *, setup: str | None = None, observe: list[str] | None = None) -> None:
    case: Case = {"id": case_id, "code": code, "observe": list(observe or [])}
    if setup is not None:
        case["setup"] = setup
    KIT.append(case)


def discord(case_id: str, code: str, setup: str | None = None) -> None:
    kit(f"discord.{case_id}", code, setup=setup, observe=[RECORDED])


# ctx.discord mocks: recorded lists and canned returns
discord("send", "ctx.discord.send_message(channel_id='1', content='hi')")
discord(
    "send_everything",
    "[ctx.discord.send_message(channel_id=1, content='x'*2500, embeds=[{}]*12, components=[ActionRow(Button('a','b'))],"
    " files=[{'filename':'a'}]*4, allowed_mentions={'parse':[]}), ctx.discord.send_message(channel_id='2', content='y')]",
)
discord("send_nothing", "ctx.discord.send_message(channel_id='1')")
discord("send_empty_channel", "ctx.discord.send_message(channel_id='', content='x')")
discord("send_positional", "ctx.discord.send_message('1', 'x')")
discord("edit", "ctx.discord.edit_message(channel_id='1', message_id='2', content='y', allowed_mentions={})")
discord("edit_nothing", "ctx.discord.edit_message(channel_id='1', message_id='2')")
discord(
    "pin_unpin",
    "[ctx.discord.pin_message(channel_id='1', message_id='2'), ctx.discord.unpin_message(channel_id='1', message_id='2')]",
)
discord(
    "delete",
    "[ctx.discord.delete_message(channel_id='1', message_id='2'), ctx.discord.bulk_delete_messages(channel_id='1', message_ids=['3','4'])]",
)
discord(
    "bulk_delete_many", "ctx.discord.bulk_delete_messages(channel_id='1', message_ids=[str(i) for i in range(120)])"
)
discord("bulk_delete_one", "ctx.discord.bulk_delete_messages(channel_id='1', message_ids=['1'])")
discord("react", "ctx.discord.add_reaction(channel_id='1', message_id='2', emoji='\N{THUMBS UP SIGN}')")
discord("react_empty", "ctx.discord.add_reaction(channel_id='1', message_id='2', emoji='')")
discord(
    "reads",
    "[ctx.discord.get_guild(), ctx.discord.get_channel(channel_id='7'), ctx.discord.list_channels(),"
    " ctx.discord.get_member(user_id='8'), ctx.discord.list_members(), ctx.discord.list_members(role_id='1', limit=3,"
    " after='2'), ctx.discord.search_members('a'), ctx.discord.search_members('a', limit=3), ctx.discord.list_roles(),"
    " ctx.discord.get_messages(channel_id='1')]",
)
discord("reads_fresh", "g = ctx.discord.get_guild(); g['features'].append('x'); result = ctx.discord.get_guild()")
discord("iter_empty", "list(ctx.discord.iter_messages(channel_id='1'))")
discord(
    "history",
    "ctx.discord.set_messages([{'id': str(i), 'content': str(i)} for i in range(1, 8)]); result = ["
    "ctx.discord.get_messages(channel_id='1', limit=3), ctx.discord.get_messages(channel_id='1', limit=2, before='5'),"
    " ctx.discord.get_messages(channel_id='1', limit=2, after='2'), list(ctx.discord.iter_messages(channel_id='1',"
    " batch_size=2)), list(ctx.discord.iter_messages(channel_id='1', batch_size=3, after='3')),"
    " list(ctx.discord.iter_messages(channel_id='1', before='4'))]",
)
discord(
    "history_channels",
    "ctx.discord.set_messages([{'id': '10', 'channel_id': '1'}, {'id': '20', 'channel_id': '2'}]); result ="
    " [ctx.discord.get_messages(channel_id='2'), ctx.discord.get_messages(channel_id='1', limit=500)]",
)
discord(
    "channels",
    "[ctx.discord.create_channel(name='n'), ctx.discord.create_channel(name='m', channel_type=2, category_id='4',"
    " topic='t', user_limit=5), ctx.discord.create_channel(name='x', channel_type=7, anything=1)]",
)
discord(
    "channel_returned_is_recorded",
    "c = ctx.discord.create_channel(name='q'); result = c is ctx.discord.channels_created[-1]",
)
discord("edit_channel", "ctx.discord.edit_channel(channel_id='1', name='x', topic='t', other=2)")
discord("delete_channel", "ctx.discord.delete_channel(channel_id='1')")
discord(
    "permissions",
    "[ctx.discord.set_channel_permissions(channel_id='1', target_id='2', allow=8),"
    " ctx.discord.delete_channel_permission(channel_id='1', target_id='2')]",
)
discord(
    "threads",
    "[ctx.discord.create_thread(channel_id='1', name='t'), ctx.discord.create_thread(channel_id='1', name='u',"
    " thread_type=12, auto_archive_duration=60), ctx.discord.edit_thread(thread_id='1', archived=True, name='z')]",
)
discord(
    "moderation",
    "[ctx.discord.timeout_member(user_id='1', duration_seconds=60), ctx.discord.set_nickname(user_id='1',"
    " nickname='n'), ctx.discord.set_nickname(user_id='2'), ctx.discord.timeout_bulk(user_ids=['3','4'],"
    " duration_seconds=5, reason='r')]",
)
discord(
    "bans_and_kicks",
    "[ctx.discord.ban_member(user_id='1', reason='r', delete_message_seconds=5), ctx.discord.unban_member(user_id='1'),"
    " ctx.discord.kick_member(user_id='2'), ctx.discord.kick_bulk(user_ids=['3','4'])]",
)
discord(
    "roles",
    "[ctx.discord.add_role(user_id='1', role_id='2'), ctx.discord.remove_role(user_id='1', role_id='2', reason='x'),"
    " ctx.discord.add_role_bulk(user_ids=['3'], role_id='2'), ctx.discord.remove_role_bulk(user_ids=['3', '4'],"
    " role_id='2')]",
)
discord(
    "webhooks",
    "[ctx.discord.create_webhook(channel_id='1', name='w'), ctx.discord.execute_webhook(webhook_id='300',"
    " webhook_token='t', content='c', avatar_url='u'), ctx.discord.send_message(channel_id='1', content='x'),"
    " ctx.discord.execute_webhook(webhook_id='300', webhook_token='t'), ctx.discord.delete_webhook(webhook_id='300')]",
)
discord("no_clamps", "ctx.discord.timeout_member(user_id='1', duration_seconds=99999999, reason='r'*600)")
discord("no_bulk_cap", "ctx.discord.kick_bulk(user_ids=[str(i) for i in range(30)])")
discord("int_ids_kept", "ctx.discord.kick_member(user_id=5)")
discord("unknown_method", "ctx.discord.nonexistent()")
discord("keyword_only", "ctx.discord.get_member('1')")

# ctx.interaction mocks
kit("interaction.respond", "ctx.interaction.respond(content='hi')", observe=INTERACTION_LISTS)
kit(
    "interaction.respond_everything",
    "ctx.interaction.respond(content='x', embeds=[{}], components=[ActionRow(Button('a','b'))], ephemeral=True,"
    " allowed_mentions={'parse':[]}, update_message=True)",
    observe=INTERACTION_LISTS,
)
kit("interaction.defer", "[ctx.interaction.defer(), ctx.interaction.defer(ephemeral=True)]", observe=INTERACTION_LISTS)
kit(
    "interaction.followup",
    "[ctx.interaction.followup(content='f'), ctx.interaction.followup(content='g', ephemeral=True, allowed_mentions={})]",
    observe=INTERACTION_LISTS,
)
kit(
    "interaction.modal",
    "ctx.interaction.send_modal(title='t', custom_id='c', fields=[TextInput('L','i')])",
    observe=INTERACTION_LISTS,
)
kit("interaction.positional", "ctx.interaction.respond('hi')", observe=INTERACTION_LISTS)
kit("interaction.outside", "ctx.interaction.respond(content='x')", observe=INTERACTION_LISTS)

# ctx.kv mock: a real store with TTLs, paging and the kv_writes log
kit(
    "kv.roundtrip",
    "ctx.kv.set('a', 1); ctx.kv.set('b', {'x': [1]}, ttl_seconds=5); result = [ctx.kv.get('a'), ctx.kv.get('b'),"
    " ctx.kv.exists('a'), ctx.kv.exists('z'), ctx.kv.list(), ctx.kv.list_values(), ctx.kv.count(),"
    " ctx.kv.get_many(['a','z']), ctx.kv.increment('n'), ctx.kv.increment('n', 5), ctx.kv.decrement('n', 2),"
    " ctx.kv.increment('o', 1, path='a.b'), ctx.kv.get('o')]",
    observe=["ctx.kv_writes"],
)
kit("kv.set_none", "ctx.kv.set('a', 1); ctx.kv.set('a', None); result = [ctx.kv.get('a'), ctx.kv.exists('a'), ctx.kv.list()]",
    observe=["ctx.kv_writes"])  # fmt: skip
kit(
    "kv.delete",
    "ctx.kv.set('a', 1); ctx.kv.delete('a'); ctx.kv.delete('zz'); result = ctx.kv.list()",
    observe=["ctx.kv_writes"],
)
kit(
    "kv.no_copies",
    "v = {'x': [1]}; ctx.kv.set('a', v); v['x'].append(2); g = ctx.kv.get('a'); g['y'] = 1; result = ctx.kv.get('a')",
)
kit(
    "kv.list_cap",
    "for i in range(150): ctx.kv.set(f'k{i:03}', i)\nresult = [len(ctx.kv.list()), len(ctx.kv.list(limit=500)),"
    " ctx.kv.list('k14', 3), ctx.kv.list(start_after='k147'), len(ctx.kv.list_values()), ctx.kv.count('k1'),"
    " ctx.kv.list(limit=0), ctx.kv.list(limit=-1)[:2], len(ctx.kv.list_values(limit=500)), ctx.kv.list_values('k14', 2)]",
)
kit(
    "kv.set_many",
    "ctx.kv.set_many({'a': 1, 'b': 2}); result = [ctx.kv.get_many(['a', 'b']), ctx.kv.list()]",
    observe=["ctx.kv_writes"],
)
kit(
    "kv.ttl",
    "ctx.kv.set('a', 1, ttl_seconds=10); ctx.kv.set('b', 2); ctx.clock.advance(11); result = [ctx.kv.get('a'),"
    " ctx.kv.list(), ctx.kv.count(), ctx.kv.exists('a'), ctx.kv.get_many(['a', 'b']), ctx.kv.list_values(),"
    " ctx.kv.increment('a'), ctx.kv.get('a')]",
    setup="ctx = MockContext(clock=MockClock(start=1000.0))",
)
kit(  # key order too: an author's snapshot (json.dumps, list(resp)) sees it
    "http.response_key_order",
    "ctx.http.mock_response('hit.test', status=404, body='nf'); result = [list(ctx.http.get('https://a.test/x')),"
    " __import__('json').dumps(ctx.http.request('GET', 'https://a.test/x')),"
    " __import__('json').dumps(ctx.http.get('https://hit.test/y'))]",
)
kit(  # a key lives through its expiry instant, gone just after (official: now > expiry); list() last, as the
    # official list() raises RuntimeError when it meets more than one key expiring under it
    "kv.ttl_boundary",
    "ctx.kv.set('a', 1, ttl_seconds=10); ctx.kv.set('b', 2, ttl_seconds=10); ctx.kv.set('c', 3, ttl_seconds=10);"
    " ctx.clock.advance(10); at = [ctx.kv.get('a'), ctx.kv.exists('b'), ctx.kv.list(), ctx.kv.count(),"
    " ctx.kv.get_many(['a', 'c']), ctx.kv.increment('c')]; ctx.clock.advance(0.5);"
    " result = [at, ctx.kv.get('a'), ctx.kv.exists('b'), ctx.kv.get('c'), ctx.kv.list()]",
    setup="ctx = MockContext(clock=MockClock(start=1000.0))",
)
kit(
    "kv.no_local_checks",
    "[ctx.kv.set('a', 'x'*70000), ctx.kv.set('', 1), ctx.kv.set('k'*300, 1), ctx.kv.set('o', object()) is None]",
)
kit(
    "kv.increment_shapes",
    "ctx.kv.set('s', 'x'); ctx.kv.set('i', 1); result = [ctx.kv.increment('s'), ctx.kv.increment('f', 1.5),"
    " ctx.kv.increment('i', 1, path='x'), ctx.kv.get('i'), ctx.kv.increment('p', 2, path='a.b'),"
    " ctx.kv.increment('p', 2, path='a.b'), ctx.kv.get('p'), ctx.kv.decrement('q', 5)]",
    observe=["ctx.kv_writes"],
)
kit(
    "kv.big_batches",
    "[ctx.kv.get_many([str(i) for i in range(60)]), ctx.kv.set_many({str(i): i for i in range(30)}), ctx.kv.count()]",
)
kit("kv.positional_start_after", "ctx.kv.list('', 10, 'a')")

# ctx.sql, ctx.ephemeral, ctx.http, ctx.metrics, ctx.secrets, ctx.ws mocks
kit(
    "sql.calls",
    "result = [ctx.sql.execute('UPDATE t SET a=$1', [1]), ctx.sql.query('SELECT 1'), ctx.sql.query_one('SELECT 1', [2]),"
    " ctx.sql.scalar('SELECT 1'), type(ctx.sql.query('x')).__name__, ctx.sql.query('x', limit=5).truncated]",
    observe=["ctx.sql.executed"],
)
kit(
    "sql.no_local_checks",
    "[ctx.sql.execute('SELECT $1', 5), ctx.sql.execute('SELECT $1, $2', [1])]",
    observe=["ctx.sql.executed"],
)
kit("sql.limit_keyword_only", "ctx.sql.query('x', [], 5)")
kit(
    "ephemeral.basics",
    "result = [ctx.ephemeral.counter('a'), ctx.ephemeral.counter('a'), ctx.ephemeral.cooldown_check('c'),"
    " ctx.ephemeral.cooldown_set('c', 30), ctx.ephemeral.cooldown_check('c'), ctx.ephemeral.dedup('d'),"
    " ctx.ephemeral.dedup('d'), ctx.ephemeral.flag_check('f'), ctx.ephemeral.flag_set('f'), ctx.ephemeral.flag_check('f')]",
    setup="ctx = MockContext(clock=MockClock(start=1000.0))",
)
kit(
    "ephemeral.clock",
    "ctx.ephemeral.counter('a', 10); ctx.clock.advance(5); ctx.ephemeral.counter('a', 10); ctx.ephemeral.cooldown_set('c', 30);"
    " ctx.clock.advance(6); r1 = ctx.ephemeral.counter('a', 10); r2 = ctx.ephemeral.cooldown_check('c');"
    " ctx.clock.advance(30); ctx.ephemeral.flag_set('f', 5); d1 = ctx.ephemeral.dedup('d', 5); ctx.clock.advance(5);"
    " result = [r1, r2, ctx.ephemeral.cooldown_check('c'), ctx.ephemeral.counter('a', 10), ctx.ephemeral.flag_check('f'),"
    " d1, ctx.ephemeral.dedup('d', 5)]",
    setup="ctx = MockContext(clock=MockClock(start=1000.0))",
)
kit(
    "http.requests",
    "ctx.http.mock_response('a.com', status=201, body='ok', headers={'X': '1'}); ctx.http.mock_response('a.com/p', body='two');"
    " result = [ctx.http.get('https://a.com/p', params={'q': 'a b', 'l': [1, 2]}, headers={'A': 'b'}),"
    " ctx.http.post('https://b.com', body='x'), ctx.http.request('patch', 'https://a.com', body='z', secret_auth='S',"
    " auth={'scheme': 'basic', 'secret': 'Y'}), ctx.http.get('https://c.com', params={'u': 'a.com'})]",
    observe=["ctx.http.requests"],
)
kit("http.post_needs_body", "ctx.http.post('https://b.com')")
kit("http.post_body_keyword_only", "ctx.http.post('https://b.com', 'x')")
kit("http.get_has_no_auth", "ctx.http.get('https://b.com', secret_auth='x')")
kit(
    "http.response_copies",
    "ctx.http.mock_response('z', headers={'a': '1'}); r = ctx.http.get('https://z'); r['headers']['b'] = 2; result = ctx.http.get('https://z')",
)
kit(
    "metrics.calls",
    "result = [ctx.metrics.record('m', 2, {'a': 1}), ctx.metrics.record('m.x'), ctx.metrics.record('1bad', 'v'),"
    " ctx.metrics.query('m'), ctx.metrics.total('m')]",
    observe=["ctx.metrics.recorded"],
)
kit(
    "secrets.calls",
    "ctx.secrets.set('K', 'v'); result = [ctx.secrets.get('K'), ctx.secrets.get('Z'), ctx.secrets.delete('K'), ctx.secrets.get('K')]",
)
kit("ws.needs_capability", "ctx.ws.ensure('f', 'wss://a.com')")
kit(
    "ws.calls",
    "result = [ctx.ws.ensure('f', 'wss://a.com', subscribe=['x']), ctx.ws.send('f', 'hi'), ctx.ws.send('f', b'\\x00'),"
    " ctx.ws.close('f'), ctx.ws.allow_host('a.com'), ctx.ws.revoke_host('a.com')]",
    setup="ctx = MockContext(capabilities=['proxy:websocket'])",
    observe=["ctx.ws.ensured", "ctx.ws.sent", "ctx.ws.closed", "ctx.ws.allowed_hosts", "ctx.ws.revoked_hosts"],
)

# MockContext itself
kit(
    "context.log",
    "ctx.log('m', level='warn', tags=['a'], x=1); ctx.log('n'); result = [ctx.log_entries, ctx.log_lines]",
)
kit("context.log_level_keyword_only", "ctx.log('m', 'warn')")
kit("context.default_grant", "sorted(ctx.capabilities)")
kit(
    "context.no_grant",
    "[sorted(ctx.capabilities), ctx.has_capability('storage:kv')]",
    setup="ctx = MockContext(capabilities=[])",
)
kit("context.not_strict", "ctx.kv.set('a', 1)", setup="ctx = MockContext(capabilities=[], strict_capabilities=False)")
kit("context.not_strict_default", "sorted(ctx.capabilities)", setup="ctx = MockContext(strict_capabilities=False)")
kit(
    "context.missing_capability",
    "ctx.discord.send_message(channel_id='1', content='x')",
    setup="ctx = MockContext(capabilities=['storage:kv'])",
)
kit("context.missing_kv", "ctx.kv.get('k')", setup="ctx = MockContext(capabilities=[])")
kit(
    "context.free_apis",
    "[ctx.ephemeral.counter('k'), ctx.metrics.total('m')]",
    setup="ctx = MockContext(capabilities=[])",
)
kit(
    "context.pin_needs_send",
    "ctx.discord.pin_message(channel_id='1', message_id='2')",
    setup="ctx = MockContext(capabilities=['discord:send_message'])",
)
kit(
    "context.positional",
    "[ctx.server_id, ctx.plugin_id, ctx.version, sorted(ctx.capabilities)]",
    setup="ctx = MockContext('1', 'p', '2.0', ['storage:kv'])",
)
kit("context.request_id", "[ctx.request_id, ctx._current_interaction_id]")
kit(
    "context.shortcuts",
    "[ctx.messages_sent is ctx.discord.messages_sent, ctx.modals_sent is ctx.interaction.modals_sent, ctx.kv_writes is ctx.kv.writes]",
)
kit(
    "context.patch_instance",
    "ctx.discord.get_guild = lambda: 'fake'; result = ctx.discord.get_guild()",
    setup="ctx = MockContext(capabilities=[])",
)
kit(
    "context.patch_class_keeps_check",
    "import yourbot_sdk.testing as T\norig = T._MockDiscord.get_member\nT._MockDiscord.get_member = lambda self, **k: 'cls'\n"
    "try:\n    result = [MockContext().discord.get_member(user_id='1')]\n    MockContext(capabilities=[]).discord.get_member(user_id='1')\n"
    "finally:\n    T._MockDiscord.get_member = orig",
)
kit("clock.frozen", "c = MockClock(start=5.0); c.advance(2); result = [c.now(), MockClock(start=5).now()]")
kit("clock.wall", "c = MockClock(); c.advance(2)")
kit("clock.backwards", "c = MockClock(start=5.0); c.advance(-1); result = c.now()")

# make_event for every type, overrides and unknown types
EVENT_TYPES = [
    "message_create",
    "message_edit",
    "message_delete",
    "member_join",
    "member_leave",
    "member_update",
    "reaction_add",
    "reaction_remove",
    "voice_state_update",
    "interaction_create",
    "channel_create",
    "channel_delete",
    "channel_update",
    "role_create",
    "role_delete",
    "role_update",
    "cron",
    "ws_message",
    "unknown_type",
]
for _type in EVENT_TYPES:
    kit(f"make_event.{_type}", f"e = make_event({_type!r}); result = [e, list(e)]")
kit(
    "make_event.overrides",
    "make_event('interaction_create', options=[{'name':'a','value':1}], member={'permissions':'8'}, extra=1)",
)
kit("make_event.command_options", "make_event('interaction_create', command_options=[1])")
kit("make_event.none_override", "make_event('message_create', guild_id=None, content='x')")
kit(
    "make_event.fresh_objects",
    "a = make_event('member_update'); a['roles'].append('x'); result = make_event('member_update')['roles']",
)
kit("make_event.positional", "make_event('message_create', {'content': 'x'})")

# components
kit(
    "components.buttons",
    "[Button('Go', 'go').to_dict(), Button('L', style='link', url='https://x').to_dict(), Button('a'*100, 'c'*120,"
    " style='danger', emoji='x', disabled=True).to_dict(), Button('x', 'y', style='bogus').to_dict(), Button('', '').to_dict(),"
    " Button('E', 'e', emoji={'name': 'a', 'id': '1'}).to_dict(), Button('L', 'cid', style='link', url='u').to_dict(),"
    " Button('L', 'cid', style='link').to_dict(), Button(5, 6).to_dict(), Button('a', 'b', style=None).to_dict()]",
)
kit(
    "components.button_attributes",
    "b = Button('Go'*50, 'go'*60, style='success'); result = [len(b.label), len(b.custom_id), b.style, b.emoji, b.url, b.disabled, sorted(vars(b))]",
)
kit(
    "components.selects",
    "[SelectMenu('m', [SelectOption('A', 'a'), SelectOption('B', 'b', description='d', emoji='e', default=True)]).to_dict(),"
    " SelectMenu('m').to_dict(), SelectMenu('m'*120, [SelectOption('A','a')], placeholder='p'*200, min_values=0,"
    " max_values=3, disabled=True).to_dict(), len(SelectMenu('m', [SelectOption(str(i), str(i)) for i in range(30)]).to_dict()['options']),"
    " SelectOption(1, 2).to_dict(), sorted(vars(SelectMenu('m', None))), SelectMenu('m', None).options]",
)
kit(
    "components.option_cuts",
    "o = SelectOption('A'*120, 'a'*120, description='d'*120); result = [len(o.label), len(o.value), len(o.description), o.to_dict()]",
)
kit(
    "components.text_inputs",
    "[TextInput('L', 'c').to_dict(), TextInput('L', 'c', style='paragraph', placeholder='p', value='v', required=False,"
    " min_length=1, max_length=5).to_dict(), list(TextInput('L', 'c', style='paragraph', placeholder='p', value='v',"
    " required=False, min_length=1, max_length=5).to_dict()), TextInput('L'*60, 'c'*150, placeholder='p'*200, value='v'*5000).to_dict(),"
    " TextInput('L', 'c', style='x', min_length=0, max_length=0).to_dict(), sorted(vars(TextInput('L','c')))]",
)
kit(
    "components.rows",
    "[ActionRow(Button('a', 'b'), Button('c', 'd')).to_dict(), ActionRow().to_dict(), sorted(vars(ActionRow()))]",
)
kit("components.row_of_six", "ActionRow(*[Button(str(i), str(i)) for i in range(6)]).to_dict()")

# dashboard builders
DASH = "from yourbot_sdk.dashboard import *"
kit(
    "dashboard.every_widget",
    "m = Manifest(pages=[Page('Overview', widgets=[StatCard('Members', rpc='members'), Chart.line('Growth', rpc='growth'),"
    " Table('Top', rpc='top', columns=[Column('name', 'Name'), Column('score')]), Text('Note', rpc='note'),"
    " Alert('Warn', rpc='alert'), ProgressBar('Quota', rpc='quota'), List('Items', rpc='items'), Markdown('Doc', rpc='doc')])])\n"
    "f = Form(rpc='load', save_rpc='save', title='Settings').text('Name', key='name', required=True, placeholder='p',"
    " help_text='h').textarea('Bio', key='bio').number('Age', key='age', min=1, max=9, step=1).toggle('On', key='on')"
    ".color('Color', key='color').date('Day', key='day').range('Vol', key='vol').select('Pick', key='pick',"
    " options=[Option('a', 'A'), Option('b')]).multi_select('Many', key='many', options=['x', Option('y', 'Y')])"
    ".channel_picker('Chan', key='chan').role_picker('Role', key='role')\n"
    "m.add_page(Page('Settings', id='settings').add(f).add(Chart.bar('B', rpc='b', width='quarter')).add(Chart.pie('P',"
    " rpc='p')).add(Chart.gauge('G', rpc='g', refresh_seconds=30, permission='manager')))\nresult = m.to_json()",
    setup=DASH,
)
for _id, _code in {
    "ids": "Page('Dup Page!', widgets=[StatCard('Hello World', rpc='a'), StatCard('h\u00e9llo w\u00f6rld 2', rpc='c'), StatCard('', rpc='d'), Alert('Heads up!', rpc='x')]).to_json()",
    "id_spaces": "[StatCard('  a  b\\tc  ', rpc='x').to_json()['id'], Page(' Two  Words ').to_json()['id'], Page('a/b.c').to_json()['id']]",
    "page_needs_title": "Page('')",
    "page_blank_title": "Page('   ')",
    "custom_ids": "Page('P', widgets=[StatCard('A', rpc='a', id='custom'), Text('T', rpc='t', id='x y')]).to_json()",
    "bad_width": "StatCard('A', rpc='a', width='wide')",
    "bad_permission": "StatCard('A', rpc='a', permission='admin')",
    "page_permission": "Page('P', permission='owner').to_json()",
    "bad_chart_type": "Chart('C', rpc='c', chart_type='radar')",
    "chart_options": "[Chart('C', rpc='c', chart_type='doughnut', chart_options={'stacked': True}).to_json(), Chart('C', rpc='c', chart_type='area', chart_options={}).to_json()]",
    "chart_keywords": "Chart.line('L', rpc='l', width='full', id='x', refresh_seconds=5, permission='viewer').to_json()",
    "refresh_not_checked": "[StatCard('A', rpc='a', refresh_seconds=2).to_json(), StatCard('A', rpc='a', icon='users').to_json()]",
    "modes": "[Manifest(mode='manifest').to_json(), Manifest().to_json(), Manifest(mode='iframe').to_json(), Manifest(pages=(Page('A'),)).to_json()]",
    "bad_mode": "Manifest(mode='x')",
    "forms": "[Form(rpc='a', save_rpc='b').to_json(), Form(rpc='a', save_rpc='b', title='My Form', id='f', width='half', permission='owner').to_json()]",
    "form_options": "Form(rpc='a', save_rpc='b').select('S', key='s', options=[('v', 'L'), 1]).multi_select('M', key='m', options=[]).to_json()",
    "form_required": "Form(rpc='a', save_rpc='b').channel_picker('C', key='c', required=True, help_text='x').role_picker('R', key='r', required=True).date('D', key='d', required=True).to_json()",
    "form_numbers": "Form(rpc='a', save_rpc='b').number('N', key='n', placeholder='p', help_text='h').range('R', key='r', min=1.5, max=2.5, step=0.5, help_text='h').to_json()",
    "columns_options": "[Column('k').to_json(), Column('k', 'L').to_json(), Option('v').to_json(), Option('v', 'L').to_json(), Column('k', '').to_json(), repr(Column('a')), Column('a') == Column('a')]",
    "table_columns": "Table('T', rpc='t', columns=['a', Column('b'), ('c', 'C')]).to_json()",
    "attributes": "[sorted(vars(StatCard('A', rpc='a'))), StatCard('A', rpc='a').id, sorted(vars(Page('A'))), sorted(vars(Manifest())), Alert('A', rpc='a').type]",
    "width_none": "StatCard('A', rpc='a', width=None).to_json()",
    "rpc_required": "StatCard('A')",
    "rpc_keyword_only": "Text('T', 'r')",
}.items():
    kit(f"dashboard.{_id}", _code, setup=DASH)

# decorators and registries
PLUGIN = "p = Plugin()"
for _id, _code in {
    "registries": "@p.on_event('message_create')\ndef a(ctx, e): pass\n@p.on_slash_command('hi')\ndef b(ctx, e): pass\n"
    "@p.on_component('c')\ndef c(ctx, e): pass\n@p.on_component(prefix='x:')\ndef d(ctx, e): pass\n"
    "@p.on_modal_submit('m')\ndef e(ctx, e): pass\n"
    "result = [(k, [getattr(h, '__name__', '?') for h in v]) for k, v in p._event_handlers.items()] + [a.__name__, b.__name__]",
    "returns_the_function": "def f(ctx, e=None): pass\nresult = [p.on_event('x')(f) is f, p.on_slash_command('y')(f) is f,"
    " p.on_component('z')(f) is f, p.on_modal_submit('m')(f) is f, p.on_ready(f) is f, p.schedule(5)(f) is f,"
    " p.cron('* * * * *')(f) is f, p.on_dashboard('d')(f) is f, p.on_install(f) is f, p.on_enable(f) is f,"
    " p.on_disable(f) is f, p.on_uninstall(f) is f, p.on_ws_message('w')(f) is f, p.on_ws_open('w')(f) is f,"
    " p.on_ws_close('w')(f) is f]",
    "ready": "@p.on_ready\ndef r(ctx): pass\nresult = [h.__name__ for h in p._ready_handlers]",
    "component_both": "p.on_component('a', prefix='b')",
    "component_none": "p.on_component()",
    "slash_uppercase": "p.on_slash_command('Hello')(lambda c, e: None)",
    "slash_invalid": "p.on_slash_command('a b!')(lambda c, e: None)",
    "schedule_anything": "[p.schedule(0)(lambda c: 1), p.schedule('5')(lambda c: 1), len(p._scheduled_tasks), [i for _, i in p._scheduled_tasks]]",
    "cron_duplicates": "@p.cron('* * * * *')\ndef c(ctx): pass\n@p.cron('0 * * * *')\ndef c(ctx): pass\nresult = len(p._cron_tasks)",
    "dashboard_registry": "@p.on_dashboard('dashboard.stats')\ndef d(ctx, params): return {}\n@p.on_dashboard('x')\ndef e(ctx, params): return {}\nresult = sorted(p._dashboard_handlers)",
    "dashboard_empty_name": "p.on_dashboard('')(lambda c, q: 1)",
    "lifecycle_registry": "@p.on_install\ndef i(ctx): pass\n@p.on_disable\ndef d(ctx): pass\nresult = sorted(p._lifecycle_handlers)",
    "ws_registry": "@p.on_ws_message('a:*')\ndef w(ctx, m): pass\n@p.on_ws_open('a')\ndef o(ctx): pass\n"
    "@p.on_ws_close('b')\ndef c(ctx, i): pass\nresult = [p._match_ws_keys('a:x'), p._match_ws_keys('a'), p._match_ws_keys('zz'),"
    " {k: sorted(v) for k, v in p._ws_handlers.items()}]",
    "ws_wildcards": "for n in ['*', 'a*', 'b:*', 'c']: p.on_ws_message(n)(lambda c, m: 1)\n"
    "result = [p._match_ws_keys(x) for x in ['zzz', 'a', 'ab', 'b:x', 'c', 'b']]",
    "ws_odd_names": "[p.on_ws_message('')(len), p.on_ws_message('*')(len), p.on_ws_message('a*b')(len)] and None",
    "on_event_any_type": "p.on_event(5)(lambda c, e: 1) and None",
}.items():
    kit(f"plugin.{_id}", _code, setup=PLUGIN)
CRON_SPECS = [
    "*/15 9-17 * * 1-5", "* * * *", "60 * * * *", "* * * * 7", "*/0 * * * *", "5/10 * * * *", "0 0 31 2 *",
    "MON * * * *", "* * * * MON", "1,2,3 * * * *", "0-5/2 * * * *", "5-1 * * * *", "@daily", "* * ? * *",
    "  0 9 * * *  ", "0 9 * * * *", "*/1 * * * *", "0 0 L * *", "-1 * * * *", "0 24 * * *", "0 0 0 * *",
    "0 0 * 13 *", "0 0 * 0 *", "00 09 * * *", "1,,2 * * * *", "*/60 * * * *",
]  # fmt: skip
for _i, _spec in enumerate(CRON_SPECS):
    kit(f"plugin.cron_{_i}", f"@p.cron({_spec!r})\ndef c(ctx): pass\nresult = len(p._cron_tasks)", setup=PLUGIN)

# exceptions
for _id, _code in {
    "defaults": "[CapabilityError('x').code, CapabilityError('x', code='Z').code, str(CapabilityError('x')), str(CapabilityError()),"
    " RateLimitError().retry_after, RateLimitError('m', 3).retry_after, str(RateLimitError()), DiscordApiError().status_code,"
    " str(DiscordApiError()), SdkPermissionError().permission, str(SdkPermissionError()), str(RpcError('boom')),"
    " RpcError('b').code, str(ValidationError()), KvQuotaError('q').code, RpcTimeoutError().code, SdkError().code]",
    "attributes": "e = RateLimitError('m', 2.5, code='QUOTA_EXCEEDED'); result = [e.code, e.retry_after, e.args, sorted(vars(e))]",
    "no_code_override": "e = CapabilityError('msg'); result = [e.args, sorted(vars(e)), type(e).code]",
    "rpc_error": "e = RpcError('boom'); result = [e.args, str(e), repr(e), isinstance(e, RuntimeError), isinstance(e, SdkError)]",
    "aliases": "e = SdkPermissionError('m', 'kick'); result = [e.args, e.permission, str(e), PermissionError is SdkPermissionError, TimeoutError is RpcTimeoutError]",
    "discord_api": "e = DiscordApiError('m', 404); result = [e.args, sorted(vars(e)), str(e)]",
    "keywords": "RateLimitError(message='m', retry_after=1)",
    "code_is_keyword_only": "SdkError('m', 'CODE')",
    "hierarchy": "[[c.__name__ for c in cls.__mro__] for cls in (CapabilityError, RateLimitError, DiscordApiError, SdkPermissionError, ValidationError, KvQuotaError, RpcTimeoutError, RpcError)]",
    "query_result": "q = QueryResult([{'a': 1}], truncated=True); result = [q, q.truncated, QueryResult().truncated, isinstance(q, list), repr(q)]",
    "query_result_keyword_only": "QueryResult([1], True)",
    "public_names": "[sorted(sdk.__all__), sdk.__all__]",
}.items():
    kit(f"errors.{_id}", _code, setup="")

# -- the real ctx through the transport ------------------------------------------------------------

WIRE: list[Case] = []


def wire(case_id: str, code: str, *answers: Any, event_type: str = "interaction_create") -> None:
    """A call made inside a delivery; ``answers`` are results, or ``{"error": ...}`` objects."""
    replies = [a if isinstance(a, dict) and set(a) == {"error"} else {"result": a} for a in answers]
    case: Case = {"id": case_id, "code": code, "answers": replies}
    if event_type != "interaction_create":
        case["event_type"] = event_type
    WIRE.append(case)


# discord: every method, valid arguments, cuts/clamps, odd values and odd results
wire("send", "ctx.discord.send_message(channel_id='1', content='hi')", {"message_id": "9", "channel_id": "1"})
wire(
    "send_everything",
    "ctx.discord.send_message(channel_id=1, content='x'*2500, embeds=[{}]*12, components=[ActionRow(Button('a','b'))],"
    " files=[{'filename':'a','data_b64':'AA=='}]*4, allowed_mentions={'parse':[]})",
    {"message_id": "9"},
)
wire("send_nothing", "ctx.discord.send_message(channel_id='1')")
wire("send_empty_channel", "ctx.discord.send_message(channel_id='', content='x')")
wire(
    "send_falsy_fields",
    "ctx.discord.send_message(channel_id='1', content=None, embeds=[], components=[], files=[], allowed_mentions={})",
)
wire(
    "send_unicode",
    "ctx.discord.send_message(channel_id=None, content='h\u00e9llo \u2713 \U0001f600 \u2028 </script> \\x00 \"q\" \\\\')",
)
wire("send_odd_types", "ctx.discord.send_message(channel_id=['1'], content=5)")
wire(
    "send_raw_components",
    "ctx.discord.send_message(channel_id='1', content='c', components=[{'type':1,'components':[]}, Button('a','b')])",
)
wire("send_result_odd", "ctx.discord.send_message(channel_id='1', content='x')", [1])
wire("send_result_null", "ctx.discord.send_message(channel_id='1', content='x')", None)
wire(
    "edit",
    "ctx.discord.edit_message(channel_id='1', message_id='2', content='y')",
    {"message_id": "2", "channel_id": "1"},
)
wire("edit_nothing", "ctx.discord.edit_message(channel_id='1', message_id='2')")
wire(
    "edit_clear",
    "ctx.discord.edit_message(channel_id='1', message_id=2, content='', embeds=[], components=[], allowed_mentions={'parse':['users']})",
    "str",
)
wire("pin", "ctx.discord.pin_message(channel_id='1', message_id='2')", {"ok": True})
wire("unpin", "ctx.discord.unpin_message(channel_id='1', message_id='2')")
wire("delete", "ctx.discord.delete_message(channel_id='1', message_id='2')")
wire("bulk_delete_cut", "ctx.discord.bulk_delete_messages(channel_id='1', message_ids=[str(i) for i in range(120)])")
wire("bulk_delete_ints", "ctx.discord.bulk_delete_messages(channel_id='1', message_ids=(1, 2))")
wire("react", "ctx.discord.add_reaction(channel_id='1', message_id='2', emoji='x')")
wire("react_odd", "ctx.discord.add_reaction(channel_id=1, message_id=2, emoji=3)")
wire("get_messages", "ctx.discord.get_messages(channel_id='1', limit=500, before='3')", {"messages": [{"id": "1"}]})
wire("get_messages_list_result", "ctx.discord.get_messages(channel_id='1')", [{"id": "1"}])
wire("get_messages_clamp_low", "ctx.discord.get_messages(channel_id='1', limit=0, after='2')")
wire("get_messages_cursors", "ctx.discord.get_messages(channel_id='1', before=None, after='')", {"messages": None})
wire("get_messages_int_limit", "ctx.discord.get_messages(channel_id='1', limit='7')")
wire("get_messages_float_limit", "ctx.discord.get_messages(channel_id='1', limit=2.5)")
wire(
    "iter_messages",
    "list(ctx.discord.iter_messages(channel_id='1', batch_size=2))",
    {"messages": [{"id": "5"}, {"id": "4"}]},
    {"messages": [{"id": "3"}]},
)
wire(
    "iter_messages_after",
    "list(ctx.discord.iter_messages(channel_id='1', batch_size=2, after='1'))",
    {"messages": [{"id": "3"}, {"id": "2"}]},
    {"messages": []},
)
wire(
    "iter_messages_big_batch",
    "list(ctx.discord.iter_messages(channel_id='1', batch_size=500, before='9'))",
    {"messages": [{"id": "5"}]},
)
wire(
    "iter_messages_zero_batch",
    "list(ctx.discord.iter_messages(channel_id='1', batch_size=0))",
    {"messages": [{"id": "5"}]},
    {"messages": []},
)
wire("iter_messages_list_result", "list(ctx.discord.iter_messages(channel_id='1', batch_size=1))", [{"id": "5"}])
wire("iter_messages_no_id", "list(ctx.discord.iter_messages(channel_id='1', batch_size=1))", {"messages": [{"x": "5"}]})
wire(
    "iter_messages_lazy",
    "it = ctx.discord.iter_messages(channel_id='1', batch_size=1); result = [type(it).__name__, next(it)]",
    {"messages": [{"id": "5"}]},
)
wire("get_guild", "ctx.discord.get_guild()", {"guild": {"id": "5"}})
wire("get_guild_unwrapped", "ctx.discord.get_guild()", {"id": "5"})
wire("get_guild_null", "ctx.discord.get_guild()", None)
wire("get_channel", "ctx.discord.get_channel(channel_id='1')", {"channel": {"id": "1"}})
wire("get_channel_null_key", "ctx.discord.get_channel(channel_id='1')", {"channel": None})
wire("list_channels", "ctx.discord.list_channels()", {"channels": [{"id": "1"}]})
wire("list_channels_null", "ctx.discord.list_channels()", {"channels": None})
wire("get_member", "ctx.discord.get_member(user_id='1')", {"member": {"user_id": "1"}})
wire("get_member_empty", "ctx.discord.get_member(user_id='1')", {"member": []})
wire("list_members", "ctx.discord.list_members(role_id='3', limit=1000, after='2')", {"members": []})
wire("list_members_defaults", "ctx.discord.list_members()")
wire("list_members_empty_cursors", "ctx.discord.list_members(role_id='', after='')", {"members": {"a": 1}})
wire("search_members", "ctx.discord.search_members('ab', limit=100)", {"members": []})
wire("search_members_odd", "ctx.discord.search_members(5, limit=0)", {"members": None})
wire("list_roles", "ctx.discord.list_roles()", {"roles": []})
wire(
    "create_channel",
    "ctx.discord.create_channel(name='n'*120, channel_type=2, category_id='4', topic='t', user_limit=150)",
    {"channel": {"id": "1"}},
)
wire("create_channel_defaults", "ctx.discord.create_channel(name='n')", None)
wire("create_channel_any_type", "ctx.discord.create_channel(name='n', channel_type=7)")
wire("create_channel_clamps", "ctx.discord.create_channel(name=5, user_limit=-3, topic='t'*2000)")
wire("create_channel_empty", "ctx.discord.create_channel(name='n', category_id='', topic='', user_limit=2.7)", [])
wire("edit_channel", "ctx.discord.edit_channel(channel_id='1', name='x')", {"channel": {"id": "1"}})
wire(
    "edit_channel_everything", "ctx.discord.edit_channel(channel_id='1', name='n'*150, topic='t'*2000, user_limit=500)"
)
wire("edit_channel_empty", "ctx.discord.edit_channel(channel_id='1', name='', topic='', user_limit=0)", {"channel": {}})
wire("delete_channel", "ctx.discord.delete_channel(channel_id='1')")
wire(
    "set_permissions",
    "ctx.discord.set_channel_permissions(channel_id='1', target_id='2', allow=8, deny='16', target_type=1)",
)
wire("set_permissions_defaults", "ctx.discord.set_channel_permissions(channel_id='1', target_id='2')")
wire(
    "set_permissions_odd",
    "ctx.discord.set_channel_permissions(channel_id='1', target_id='2', allow='x', deny=None, target_type=5)",
)
wire("delete_permission", "ctx.discord.delete_channel_permission(channel_id='1', target_id='2')")
wire(
    "create_thread",
    "ctx.discord.create_thread(channel_id='1', name='t', thread_type=12, auto_archive_duration=60)",
    {"thread": {"id": "1"}},
)
wire("create_thread_cut", "ctx.discord.create_thread(channel_id='1', name='n'*150)", {})
wire("edit_thread", "ctx.discord.edit_thread(thread_id='1', archived=True)")
wire(
    "edit_thread_everything",
    "ctx.discord.edit_thread(thread_id=1, archived=False, locked=False, name='n'*150, auto_archive_duration=5)",
)
wire(
    "edit_thread_empty", "ctx.discord.edit_thread(thread_id='1', name='', auto_archive_duration=0, archived=None)", None
)
wire("timeout", "ctx.discord.timeout_member(user_id='1', duration_seconds=99999999, reason='r'*600)")
wire("timeout_negative", "ctx.discord.timeout_member(user_id='1', duration_seconds=-5, reason=5)")
wire("timeout_string", "ctx.discord.timeout_member(user_id='1', duration_seconds='60')")
wire("nickname_reset", "ctx.discord.set_nickname(user_id='1')")
wire("nickname_cut", "ctx.discord.set_nickname(user_id='1', nickname='n'*50)")
wire("nickname_empty", "ctx.discord.set_nickname(user_id='1', nickname='')")
wire(
    "timeout_bulk",
    "ctx.discord.timeout_bulk(user_ids=[str(i) for i in range(30)], duration_seconds=5)",
    {"success": 25, "failed": 0, "errors": []},
)
wire("timeout_bulk_odd", "ctx.discord.timeout_bulk(user_ids=(), duration_seconds=-1, reason=None)", None)
wire("ban", "ctx.discord.ban_member(user_id='1', delete_message_seconds=10**7)")
wire("ban_odd", "ctx.discord.ban_member(user_id='1', reason='r'*600, delete_message_seconds=1.5)")
wire("unban", "ctx.discord.unban_member(user_id='1')")
wire("kick", "ctx.discord.kick_member(user_id='1')")
wire("kick_reason_cut", "ctx.discord.kick_member(user_id='1', reason='r'*600)")
wire("kick_bulk", "ctx.discord.kick_bulk(user_ids=['1','2'])", {"success": 2})
wire("kick_bulk_odd_ids", "ctx.discord.kick_bulk(user_ids=[1, 2.5, None], reason='x')")
wire("add_role", "ctx.discord.add_role(user_id='1', role_id='2')")
wire("remove_role", "ctx.discord.remove_role(user_id='1', role_id='2', reason='x')")
wire(
    "add_role_bulk",
    "ctx.discord.add_role_bulk(user_ids=[str(i) for i in range(40)], role_id=3, reason='r'*600)",
    {"success": 1},
)
wire("remove_role_bulk", "ctx.discord.remove_role_bulk(user_ids=['1'], role_id='2')", {"success": 1})
wire("create_webhook", "ctx.discord.create_webhook(channel_id='1', name='w'*100)", {"webhook": {"id": "1"}})
wire("create_webhook_null", "ctx.discord.create_webhook(channel_id='1', name='t')", None)
wire(
    "execute_webhook",
    "ctx.discord.execute_webhook(webhook_id='1', webhook_token='t', content='c', username='u')",
    {"message_id": "3"},
)
wire(
    "execute_webhook_everything",
    "ctx.discord.execute_webhook(webhook_id='1', webhook_token='t', content='c'*2500, embeds=[{}]*12, username='u'*100, avatar_url='http://a')",
)
wire(
    "execute_webhook_empty",
    "ctx.discord.execute_webhook(webhook_id='1', webhook_token='t', content='', embeds=[], username='', avatar_url='')",
    None,
)
wire("delete_webhook", "ctx.discord.delete_webhook(webhook_id='1')")

# interaction
wire("respond", "ctx.interaction.respond(content='hi')")
wire(
    "respond_everything",
    "ctx.interaction.respond(content='x'*2500, embeds=[{}]*12, components=[ActionRow(Button('a','b'))], ephemeral=True,"
    " allowed_mentions={'parse':[]}, update_message=True)",
)
wire("respond_defaults", "ctx.interaction.respond()")
wire(  # a bare component, not in an ActionRow: sent as the official SDK sends it
    "respond_bare_components",
    "ctx.interaction.respond(content='x', components=[SelectMenu('s', [SelectOption('a', 'a')]), Button('b', 'c')])",
)
wire("send_bare_button", "ctx.discord.send_message(channel_id='1', content='x', components=[Button('b', 'c')])")
wire(
    "respond_nones",
    "ctx.interaction.respond(content=None, embeds=None, components=None, ephemeral=None, allowed_mentions=None, update_message=None)",
)
wire("respond_truthy", "ctx.interaction.respond(content=5, ephemeral=1, update_message=1)")
wire("respond_outside_interaction", "ctx.interaction.respond(content='x')", event_type="message_create")
wire("defer", "ctx.interaction.defer()")
wire("defer_ephemeral", "ctx.interaction.defer(ephemeral=True)")
wire("followup", "ctx.interaction.followup(content='f')", {"message_id": "3", "channel_id": "1"})
wire(
    "followup_everything",
    "ctx.interaction.followup(content='f', embeds=[{}], components=[], ephemeral=True, allowed_mentions={})",
    None,
)
wire("followup_cuts", "ctx.interaction.followup(content='x'*3000, embeds=[{}]*11)", "x")
wire(
    "modal",
    "ctx.interaction.send_modal(title='t'*60, custom_id='c', fields=[TextInput('L','i'), ActionRow(TextInput('M','j'))])",
)
wire("modal_no_fields", "ctx.interaction.send_modal(title='t', custom_id='c')")
wire(
    "modal_odd",
    "ctx.interaction.send_modal(title=None, custom_id='c'*200, fields=[{'type': 1, 'components': []}, {'type': 4, 'custom_id': 'z'}]+[TextInput('a','b')]*5)",
)

# kv
wire("kv_get", "ctx.kv.get('k')", {"value": 3})
wire("kv_get_null", "ctx.kv.get('k')", None)
wire("kv_set", "ctx.kv.set('k', {'a': 1})")
wire("kv_set_ttl", "ctx.kv.set('k', 1, ttl_seconds=5)")
wire("kv_set_negative_ttl", "ctx.kv.set('k', 1, ttl_seconds=-1)")
wire("kv_set_none", "ctx.kv.set('k', None)")
wire("kv_set_big", "ctx.kv.set('k', 'x'*70000)")
wire("kv_set_empty_key", "ctx.kv.set('', 1)")
wire("kv_set_bytes", "ctx.kv.set('k', b'x')")
wire("kv_delete", "ctx.kv.delete('k')")
wire("kv_exists_zero", "ctx.kv.exists('k')", {"value": 0})
wire("kv_exists_other_key", "ctx.kv.exists('k')", {"exists": True})
wire("kv_exists_null", "ctx.kv.exists('k')", None)
wire("kv_increment", "ctx.kv.increment('k')", {"value": 2})
wire("kv_increment_path", "ctx.kv.increment('k', 5, path='a.b')", {"value": 2.5})
wire("kv_increment_none_path", "ctx.kv.increment('k', path=None)", {"value": None})
wire("kv_decrement", "ctx.kv.decrement('k', 3)", {"value": -3})
wire("kv_list", "ctx.kv.list()", {"keys": ["a"]})
wire("kv_list_page", "ctx.kv.list('p', 500, start_after='a')", {"keys": ["b"]})
wire("kv_list_zero", "ctx.kv.list('p', 0)", {"keys": None})
wire("kv_list_negative", "ctx.kv.list('p', -5, start_after=None)", {"keys": "abc"})
wire("kv_list_float", "ctx.kv.list('p', 2.5)")
wire("kv_list_values", "ctx.kv.list_values('p', 0)", {"values": {"a": 1}})
wire("kv_count", "ctx.kv.count('p')", {"count": 4})
wire("kv_count_null", "ctx.kv.count()", {"count": None})
wire("kv_get_many", "ctx.kv.get_many(['a','b'])", {"values": {"a": 1}})
wire("kv_get_many_many", "ctx.kv.get_many([str(i) for i in range(60)])", {"values": {}})
wire("kv_get_many_tuple", "ctx.kv.get_many(('a', 'b'))", {"values": None})
wire("kv_set_many", "ctx.kv.set_many({'a': 1, 'b': None})")
wire("kv_set_many_many", "ctx.kv.set_many({str(i): i for i in range(30)})")

# sql
wire("sql_execute", "ctx.sql.execute('UPDATE t SET a=$1', [1])", {"rowcount": 3})
wire("sql_execute_other_key", "ctx.sql.execute('DELETE FROM t')", {"rows_affected": 3})
wire("sql_query", "ctx.sql.query('SELECT 1', limit=5000)", {"rows": [{"a": 1}], "truncated": True})
wire(
    "sql_query_tuple",
    "r = ctx.sql.query('SELECT $1', (1,)); result = [type(r).__name__, list(r), r.truncated]",
    {"rows": [{"a": 1}]},
)
wire("sql_query_zero_limit", "ctx.sql.query('x', limit=0)", {"rows": None, "truncated": 1})
wire("sql_query_list_result", "ctx.sql.query('x', limit=-3)", [{"a": 1}])
wire("sql_query_one", "ctx.sql.query_one('SELECT 1')", {"row": {"a": 1}})
wire("sql_query_one_other", "ctx.sql.query_one('SELECT 1', ())", {"rows": [{"a": 1}]})
wire("sql_scalar", "ctx.sql.scalar('SELECT 1')", {"row": {"a": 7, "b": 2}})
wire("sql_scalar_list_row", "ctx.sql.scalar('x')", {"row": [5, 6]})
wire("sql_scalar_no_row", "ctx.sql.scalar('SELECT 1')", {"value": 7})
wire("sql_params_not_a_list", "ctx.sql.execute('SELECT $1', 5)")

# ephemeral, http, metrics, secrets, ws
wire("counter", "ctx.ephemeral.counter('k')", {"count": 2})
wire("counter_window", "ctx.ephemeral.counter('k', 999999)", {"count": 2})
wire("counter_null_count", "ctx.ephemeral.counter('k', 0)", {"count": None})
wire("cooldown_set", "ctx.ephemeral.cooldown_set('k', 0)")
wire("cooldown_check", "ctx.ephemeral.cooldown_check('k')", {"active": True, "remaining_seconds": 3})
wire("cooldown_check_null", "ctx.ephemeral.cooldown_check('k')", None)
wire("cooldown_check_partial", "ctx.ephemeral.cooldown_check('k')", {"active": 1})
wire("dedup", "ctx.ephemeral.dedup('k')", {"is_new": True})
wire("dedup_other_key", "ctx.ephemeral.dedup('k', 5)", {"new": True})
wire("dedup_null", "ctx.ephemeral.dedup('k')", None)
wire("flag_set", "ctx.ephemeral.flag_set('k')")
wire("flag_check", "ctx.ephemeral.flag_check('k')", {"active": 1})
wire(
    "http_get",
    "ctx.http.get('https://a.com/x', params={'q': 1, 'l': [1,2], 'n': None}, headers={'A': 'b'})",
    {"status": 200, "headers": {}, "body_bytes": "x", "truncated": False},
)
wire("http_post", "ctx.http.post('https://a.com/x', body='b')")
wire("http_post_empty", "ctx.http.post('https://a.com', body='', headers={'a': 1})", None)
wire(
    "http_request",
    "ctx.http.request('patch', 'https://a.com/x?z=1', headers=None, body=None, params={'q': 'a b'}, secret_auth='TOKEN')",
)
wire("http_request_auth", "ctx.http.request('GET', 'https://a.com', auth={'scheme': 'bearer', 'secret': 'T'})")
wire("http_request_empty_auth", "ctx.http.request('GET', 'https://a.com', params={}, secret_auth='', auth={})", None)
wire(
    "http_params_encoding",
    "ctx.http.request('get', 'https://a.com/p?x=1', params={'b': True, 'c': 1.5, 'd': '\u00e9/&= +', 'e': None, 'f': [1, 'x y'], 'g': (3,)})",
    "x",
)
wire("http_params_fragment", "ctx.http.get('https://a.com/p#frag', params={'a': 1})")
wire("http_params_bare_question", "ctx.http.get('https://a.com/p?', params={'a': 1})")
wire("http_params_pairs", "ctx.http.get('https://a.com/p', params=[('a', 1)])")
wire("http_allow_host", "ctx.http.allow_host('api.a.com')", {"ok": True})
wire("http_revoke_host", "ctx.http.revoke_host('api.a.com')", None)
wire("metrics_record", "ctx.metrics.record('m', 2, {'a': 1})")
wire("metrics_record_defaults", "ctx.metrics.record('m.x')")
wire("metrics_record_odd", "ctx.metrics.record('m', '5', {})")
wire("metrics_query", "ctx.metrics.query('m', period='1h', group_by='a', aggregate='max')", {"labels": []})
wire("metrics_query_empty_group", "ctx.metrics.query('m', group_by='')", None)
wire("metrics_total", "ctx.metrics.total('m')", {"total": 5})
wire("metrics_total_string", "ctx.metrics.total('m')", {"total": "7"})
wire("metrics_total_null", "ctx.metrics.total('m', period='7d')", None)
wire("secrets_get", "ctx.secrets.get('K')", {"value": "v"})
wire("secrets_get_null", "ctx.secrets.get('K')", None)
wire("secrets_set", "ctx.secrets.set('K', 'v')")
wire("secrets_delete", "ctx.secrets.delete('K')")
wire("ws_ensure", "ctx.ws.ensure('feed', 'wss://a.com/s')", {"ok": True, "conn_id": "c1"})
wire(
    "ws_ensure_everything",
    "ctx.ws.ensure('feed', 'wss://a.com/s', secret_auth='S', auth={'scheme':'token','secret':'X'}, subscribe=[{'op':'sub'}, 'txt'], binary=True)",
    None,
)
wire("ws_ensure_auth", "ctx.ws.ensure('n', 'u', auth={'scheme': 'basic', 'secret': 'S'}, subscribe=None, binary=None)")
wire("ws_ensure_empty_secret", "ctx.ws.ensure('n', 'u', secret_auth='')")
wire("ws_send_text", "ctx.ws.send('feed', 'hello')")
wire("ws_send_bytes", "ctx.ws.send('feed', b'\\x00\\x01')")
wire("ws_send_bytearray", "ctx.ws.send('n', bytearray(b'ab'))")
wire("ws_send_other", "ctx.ws.send('feed', {'a': 1})")
wire("ws_send_none", "ctx.ws.send('n', None)")
wire("ws_close", "ctx.ws.close('feed')")
wire("ws_allow_host", "ctx.ws.allow_host('a.com')")
wire("ws_revoke_host", "ctx.ws.revoke_host('a.com')")
wire("log", "ctx.log('m', level='warning', tags=['a']*12, **{f'k{i}': 'v'*600 for i in range(25)})")
wire("log_odd", "ctx.log(12345, level='bogus')")
wire("log_cut", "ctx.log('x'*5000, level='ERROR', tags=[])")
wire("log_none_level", "ctx.log('m', level=None, tags=None)")
wire("log_tuple_tags", "ctx.log('m', tags=('a', 1), extra=5)")
wire("log_extra_values", "ctx.log('m', **{'x': None, 'y': {'a': 1}})")

# host error shapes: how each becomes an exception (and the rejection warnings it logs)
ERROR_SHAPES: dict[str, Any] = {
    "capability_data": {
        "code": -32001,
        "message": "capability storage:kv is not granted for kv.get",
        "data": {"code": "CAPABILITY_DENIED"},
    },
    "capability_top": {"code": "CAPABILITY_DENIED", "message": "nope"},
    "capability_text": {"code": -32000, "message": "Capability missing"},
    "rate_limit_top": {"code": "RATE_LIMITED", "message": "slow down", "retry_after": 3.5},
    "rate_limit_retry_in": {"code": -32000, "message": "rate limit hit, retry in 7s"},
    "rate_limit_remaining": {"code": -32000, "message": "proxy http rate limit exceeded (remaining=3/min)"},
    "rate_limit_remaining_zero": {"code": -32000, "message": "rate limit exceeded (remaining=0.5/min)"},
    "rate_limit_both": {"code": -32000, "message": "rate limit exceeded (remaining=7/min) retry in 9s"},
    "rate_limit_bare": {"code": -32000, "message": "rate limit"},
    "rate_limit_fraction": {"code": -32000, "message": "rate limit: retry in 0.25s"},
    "rate_limit_spaced": {"code": -32000, "message": "rate limit: retry in 3 s"},
    "rate_limit_upper": {"code": -32000, "message": "RETRY IN 4S rate limit"},
    "rate_limit_string_retry": {"code": "QUOTA_EXCEEDED", "message": "q", "retry_after": "7"},
    "rate_limit_null_retry": {"code": "RATE_LIMITED", "message": "q", "retry_after": None},
    "quota_text": {"code": -32000, "message": "quota exceeded"},
    "quota_top": {"code": "QUOTA_EXCEEDED", "message": "daily quota"},
    "kv_quota_data": {"code": -32005, "message": "kv quota reached: 10000 keys", "data": {"code": "KV_QUOTA_EXCEEDED"}},
    "kv_quota_text": {"code": -32000, "message": "plugin_kv quota exceeded"},
    "discord_api_data": {
        "code": -32003,
        "message": "discord api error 404 Unknown Message",
        "data": {"code": "DISCORD_API_ERROR", "status_code": 404},
    },
    "discord_api_text": {"code": -32000, "message": "Discord API error 500 boom"},
    "permission_text_colon": {"code": -32004, "message": "Missing permission: ban_members"},
    "permission_text_space": {"code": -32004, "message": "missing permission manage_roles"},
    "permission_text_plural": {"code": -32004, "message": "Missing Permissions (permission=MANAGE_ROLES)"},
    "permission_text_lacks": {"code": -32004, "message": "lacks permission 'manage_messages'"},
    "permission_top": {"code": "BOT_MISSING_PERMISSION", "message": "no", "permission": "KICK_MEMBERS"},
    "permission_top_and_data": {
        "code": -32004,
        "message": "bot lacks permission",
        "permission": "manage_channels",
        "data": {"permission": "x"},
    },
    "permission_mixed_case": {"code": -32000, "message": "Missing permission: Ban_Members"},
    "permission_not_a_string": {"code": 5, "message": "Missing permission: x", "permission": 5},
    "validation_text": {
        "code": -32602,
        "message": "invalid key: key is required and must be a string",
        "data": {"code": "VALIDATION_ERROR"},
    },
    "validation_plain": {"code": -32602, "message": "bad things"},
    "validation_top": {"code": "VALIDATION_ERROR", "message": "bad"},
    "timeout_data": {"code": -32006, "message": "kv.get timed out after 5s", "data": {"code": "RPC_TIMEOUT"}},
    "timeout_top": {"code": "RPC_TIMEOUT", "message": "slow"},
    "rpc": {"code": -32000, "message": "something broke " + "x" * 400},
    "unknown_method": {"code": -32601, "message": "unknown method: kv.get"},
    "internal": {"code": -32603, "message": "internal"},
    "unknown_string_code": {"code": "WEIRD", "message": "weird"},
    "no_message": {"code": -32000},
    "code_wins_over_data": {
        "code": "RATE_LIMITED",
        "message": "x",
        "data": {"code": "CAPABILITY_DENIED", "retry_after": 9},
    },
    "data_string": {"code": -32000, "message": "x", "data": "RATE_LIMITED"},
    # the shapes older maidcore hosts send: the structured fields only under ``data``
    "maidcore_rate_limit": {
        "code": -32002,
        "message": "discord actions rate limit exceeded (remaining=0/min)",
        "data": {"code": "RATE_LIMITED", "retry_after": 12.0},
    },
    "maidcore_permission": {
        "code": -32004,
        "message": "bot lacks permission manage_channels",
        "data": {"code": "BOT_MISSING_PERMISSION", "permission": "manage_channels"},
    },
    "maidcore_discord_api": {
        "code": -32003,
        "message": "discord api error: unknown",
        "data": {"code": "DISCORD_API_ERROR", "status_code": 502},
    },
    "maidcore_code_only_in_data": {"code": -32000, "message": "refused", "data": {"code": "CAPABILITY_DENIED"}},
}
BARE_ERRORS: dict[str, Any] = {"bare_capability": "capability denied bare string", "bare_other": "plain", "null": None}
#: One call per RPC method, so the warnings' 3-per-method-per-hour budget is visible too.
ERROR_CALLS = [
    "ctx.kv.get('k')",
    "ctx.kv.set('k', 1)",
    "ctx.discord.kick_member(user_id='1')",
    "ctx.discord.send_message(channel_id='1', content='x')",
    "ctx.http.get('https://x.com')",
    "ctx.interaction.respond(content='x')",
    "ctx.sql.execute('x')",
    "ctx.ephemeral.counter('x')",
    "ctx.metrics.record('x')",
    "ctx.ws.send('a', 'b')",
    "ctx.secrets.get('a')",
]
for _i, (_id, _error) in enumerate({**ERROR_SHAPES, **BARE_ERRORS}.items()):
    wire(f"error.{_id}", ERROR_CALLS[_i % len(ERROR_CALLS)], {"error": _error})

# -- runtime scenarios -----------------------------------------------------------------------------


def _note(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def _request(rid: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}


def _event(etype: str, event_id: Any, event: dict[str, Any], **more: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"event": event, **more}
    if event_id is not None:
        params["event_id"] = event_id
    return _note(f"event.{etype}", params)


ACK = "event.ack"
SCENARIOS: list[Case] = [
    {"id": "message", "send": _event("message_create", "e1", {"content": "x", "call": True}), "until": ACK},
    {"id": "message_int_event_id", "send": _event("message_create", 7, {}), "until": ACK},
    {"id": "message_without_event_id", "send": _event("message_create", None, {"n": 1})},
    {
        "id": "message_naming_a_server",
        "send": _event("message_create", "e2", {"call": True}, discord_srv_id="42"),
        "until": ACK,
    },
    {"id": "handler_raises", "send": _event("message_create", "e3", {"boom": True}), "until": ACK},
    {"id": "unhandled_type", "send": _event("member_join", "e4", {}), "until": ACK},
    {"id": "unhandled_without_id", "send": _event("member_join", None, {})},
    {
        "id": "slash",
        "send": _event(
            "interaction_create", "e5", {"interaction_type": 2, "command_name": "hello", "interaction_id": "I9"}
        ),
        "until": ACK,
    },
    {
        "id": "slash_other_name",
        "send": _event(
            "interaction_create", "e6", {"interaction_type": 2, "command_name": "nope", "interaction_id": "I10"}
        ),
        "until": ACK,
    },
    {
        "id": "component",
        "send": _event("interaction_create", "e7", {"interaction_type": 3, "custom_id": "btn"}),
        "until": ACK,
    },
    {
        "id": "component_prefix",
        "send": _event("interaction_create", "e8", {"interaction_type": 3, "custom_id": "page:2"}),
        "until": ACK,
    },
    {
        "id": "modal",
        "send": _event(
            "interaction_create", "e9", {"interaction_type": 5, "custom_id": "form", "modal_values": {"a": "b"}}
        ),
        "until": ACK,
    },
    {
        "id": "cron_in_single_mode",
        "send": _event("cron", "c1", {"name": "every_five", "spec": "*/5 * * * *"}),
        "until": ACK,
    },
    {"id": "cron_unknown", "send": _event("cron", "c2", {"name": "nope"}), "until": ACK},
    {
        "id": "ws_frame",
        "send": _note(
            "event.ws_message", {"event_id": "w1", "name": "feed:a", "conn_id": "c", "data": "hi", "binary": False}
        ),
    },
    {
        "id": "ws_frame_exact_name",
        "send": _note(
            "event.ws_message",
            {
                "event_id": "w2",
                "name": "feed:exact",
                "conn_id": "c",
                "data": "aGk=",
                "binary": True,
                "discord_srv_id": "42",
            },
        ),
    },
    {
        "id": "ws_frame_no_handler",
        "send": _note("event.ws_message", {"event_id": "w3", "name": "other", "conn_id": "c", "data": "x"}),
    },
    {"id": "ws_open", "send": _note("event.ws_open", {"event_id": "w4", "name": "feed:b", "conn_id": "c"})},
    {
        "id": "ws_closed",
        "send": _note(
            "event.ws_closed",
            {"event_id": "w5", "name": "feed:b", "conn_id": "c", "reason": "bye", "will_reconnect": True},
        ),
    },
    {
        "id": "ws_close_is_not_a_kind",
        "send": _note("event.ws_close", {"event_id": "w6", "name": "feed:b"}),
        "until": ACK,
    },
    {"id": "install", "send": _note("host.install", {"lifecycle": "install", "discord_srv_id": "43"})},
    {"id": "install_by_type", "send": _note("host.install", {"type": "install"})},
    {"id": "install_unnamed", "send": _note("host.install", {})},
    {"id": "disable", "send": _note("host.disable", {"lifecycle": "disable"})},
    {"id": "enable_without_handler", "send": _note("host.enable", {"lifecycle": "enable"})},
    {
        "id": "dashboard",
        "send": _request("d1", "dashboard.stats", {"discord_srv_id": "44", "values": {"a": 1}}),
        "until": '"id":"d1"',
    },
    {"id": "dashboard_raises", "send": _request(5, "dashboard.broken", {}), "until": '"id":5'},
    {"id": "dashboard_unknown", "send": _request(6, "dashboard.nothing", {}), "until": '"id":6'},
    {"id": "dashboard_as_notification", "send": _note("dashboard.stats", {})},
    {"id": "unknown_request", "send": _request(7, "bogus.method", {}), "until": '"id":7'},
    {"id": "unknown_notification", "send": _note("bogus.method", {})},
    {"id": "second_boot", "send": _note("host.boot", {"mode": "pool"})},
    {"id": "response_to_nothing", "send": {"jsonrpc": "2.0", "id": 999, "result": {}}},
    {"id": "malformed_line", "send": b"not json\n"},
    {"id": "json_array", "send": b"[1,2]\n"},
]
POOL_SCENARIOS: list[Case] = [
    {
        "id": "pool_first_delivery",
        "send": _event("message_create", "p1", {"call": True}, discord_srv_id="50", capabilities=["storage:kv"]),
        "until": ACK,
    },
    {
        "id": "pool_same_server",
        "send": _event("message_create", "p2", {"call": True}, discord_srv_id="50"),
        "until": ACK,
    },
    {
        "id": "pool_other_server",
        "send": _event("message_create", "p3", {"call": True}, discord_srv_id="51"),
        "until": ACK,
    },
    {"id": "pool_cron", "send": _event("cron", "pc", {"name": "every_five"}, discord_srv_id="52"), "until": ACK},
    {
        "id": "pool_cron_name_at_top",
        "send": _note("event.cron", {"event_id": "pc2", "name": "every_five", "discord_srv_id": "52"}),
        "until": ACK,
    },
    {"id": "pool_install", "send": _note("host.install", {"lifecycle": "install", "discord_srv_id": "53"})},
    {
        "id": "pool_ws_frame",
        "send": _note("event.ws_message", {"name": "feed:z", "conn_id": "c", "data": "x", "discord_srv_id": "54"}),
    },
    {"id": "pool_dashboard", "send": _request("pd", "dashboard.stats", {"discord_srv_id": "55"}), "until": '"id":"pd"'},
    {"id": "pool_no_server", "send": _event("message_create", "p4", {"call": True}), "until": ACK},
]

# -- signatures: names, kinds and defaults of every public method (annotations aside) ---------------

_SIG = (
    "import inspect\n"
    "def sig(f):\n"
    "    return [(p.name, p.kind.name, repr(p.default)) for p in inspect.signature(f).parameters.values() if p.name != 'self']\n"
    "def methods(cls):\n"
    "    return {m: sig(getattr(cls, m)) for m in dir(cls) if not m.startswith('_') and callable(getattr(cls, m))}\n"
)
_CONTEXT_CLASSES = [
    "_DiscordApi",
    "_InteractionApi",
    "_KvApi",
    "_SqlApi",
    "_EphemeralApi",
    "_HttpApi",
    "_MetricsApi",
    "_SecretsApi",
    "_WsApi",
]
_MOCK_CLASSES = [
    "_MockDiscord",
    "_MockInteraction",
    "_MockKv",
    "_MockSql",
    "_MockEphemeral",
    "_MockHttp",
    "_MockMetrics",
    "_MockSecrets",
    "_MockWs",
]
for _name in _CONTEXT_CLASSES:
    kit(
        f"signatures.context.{_name}",
        _SIG + f"import yourbot_sdk._context as C\nresult = methods(getattr(C, {_name!r}))",
        setup="",
    )
for _name in _MOCK_CLASSES:
    kit(
        f"signatures.testing.{_name}",
        _SIG + f"import yourbot_sdk.testing as T\nresult = methods(getattr(T, {_name!r}))",
        setup="",
    )
kit("signatures.context", _SIG + "result = [sig(Context), methods(Context)]", setup="")
kit("signatures.plugin", _SIG + "result = [sig(Plugin), methods(Plugin)]", setup="")
kit(
    "signatures.mock_context",
    _SIG + "result = [sig(MockContext), methods(MockContext), sig(MockClock), methods(MockClock), sig(make_event)]",
    setup="",
)
kit(
    "signatures.components",
    _SIG
    + "result = [(c.__name__, sig(c), methods(c)) for c in (ActionRow, Button, SelectMenu, SelectOption, TextInput)]",
    setup="",
)
kit(
    "signatures.errors",
    _SIG
    + "result = [(c.__name__, sig(c)) for c in (SdkError, CapabilityError, RateLimitError, DiscordApiError, SdkPermissionError, ValidationError, KvQuotaError, RpcError, RpcTimeoutError, QueryResult)]",
    setup="",
)
kit(
    "signatures.dashboard",
    _SIG
    + "import yourbot_sdk.dashboard as D\nresult = [(n, sig(getattr(D, n)), methods(getattr(D, n))) for n in D.__all__]",
    setup="",
)
kit("plugin.modal_prefix_form", "p.on_modal_submit(prefix='x:')(lambda c, e: 1) and None", setup=PLUGIN)
