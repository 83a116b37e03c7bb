from mmo_maid_sdk import Plugin

from . import github

plugin = Plugin()


def watches(kv) -> dict:
    return kv.get("watches") or {}


@plugin.on_slash_command("watch-releases")
def watch(ctx, event):
    repo = next(o["value"] for o in event["options"] if o["name"] == "repo").strip()
    if not github.REPO.match(repo):
        ctx.interaction.respond(content="Use owner/name, like python/cpython.", ephemeral=True)
        return
    hook = ctx.discord.create_webhook(channel_id=event["channel_id"], name=repo.split("/")[1][:80])
    current = watches(ctx.kv)
    current[repo] = {"webhook_id": hook["id"], "webhook_token": hook["token"], "last_tag": None}
    ctx.kv.set("watches", current)
    ctx.interaction.respond(content=f"Watching {repo}.", ephemeral=True)


@plugin.on_slash_command("github-token")
def set_token(ctx, event):
    ctx.secrets.set("GITHUB_TOKEN", next(o["value"] for o in event["options"] if o["name"] == "token"))
    ctx.interaction.respond(content="Token saved.", ephemeral=True)


@plugin.cron("*/20 * * * *")
def check_releases(ctx):
    current = watches(ctx.kv)
    for repo, watch_ in current.items():
        release = github.latest_release(ctx.http, ctx.secrets, repo)
        if not release or release["tag"] == watch_["last_tag"]:
            continue
        if watch_["last_tag"] is not None:
            ctx.discord.execute_webhook(
                webhook_id=watch_["webhook_id"],
                webhook_token=watch_["webhook_token"],
                content=f"🚀 **{repo}** {release['name']}\n{release['url']}",
                username=repo,
            )
        watch_["last_tag"] = release["tag"]
    ctx.kv.set("watches", current)
