"""``mapper users``: officers' and administrators' accounts, their API tokens, passwords and reset links."""

import click

from mapper.accounts import ROLES
from mapper.cli import Refused, data_option, main, open_resources, plural, terminal_safe


@main.group()
def users():
    """Officers' and administrators' accounts (<data dir>/_private/users.json)."""


def accounts_for(data):
    from mapper.accounts import Accounts

    resources = open_resources(data)
    return resources, Accounts(resources.config["DATA_DIR"])


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="An officer works in --zones; a steering-group member uploads audit walks for --zones; probation "
                   "staff plan Community Payback sites in --zones; an admin sees every zone.")
@click.option("--zones", "zone_ids", default="", help="Comma-separated zone ids (officers, steering, probation).")
@click.option("--password", help="The password (default: asked for, without echo).")
@click.option("--no-password", is_flag=True, help="No sign-in: the account uses API tokens only (or, with --email, "
                                                     "chooses its own password through 'Forgot your password?').")
@click.option("--email", help="Where password reset links are sent.")
@data_option
def add_user(name, role, zone_ids, password, no_password, email, data):
    """Create an account NAME."""
    resources, accounts = accounts_for(data)
    zones = [zone.strip() for zone in zone_ids.split(",") if zone.strip()]
    registry = resources.zones()
    for zone_id in zones:
        registry.get(zone_id)  # an unknown zone is refused with the list of known ones
    if role == "admin" and zones:
        raise Refused("An admin sees every zone; leave out --zones.")
    if password is None and not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    account = accounts.add(name, role, zones, password, email=email)
    where = ", ".join(account.zones) if account.zones else "every zone"
    click.echo(f"Added {account.role} {account.name} ({where}).")


@users.command("token")
@click.argument("name")
@click.option("--label", help="What the token is for, e.g. 'Confirm works system' (shown in token lists).")
@data_option
def user_token(name, label, data):
    """Print a new API token for NAME (shown once; only its SHA-256 is kept)."""
    from mapper.accounts import token_id

    _, accounts = accounts_for(data)
    token = accounts.new_token(name, label)
    click.echo(token)
    click.echo(f"Send it as 'Authorization: Bearer <token>'. It is not shown again. Its id is {token_id(token)} "
               f"(mapper users tokens {name}).", err=True)


@users.command("tokens")
@click.argument("name")
@data_option
def list_tokens(name, data):
    """List NAME's API tokens: id, created, last used (to the hour) and label."""
    _, accounts = accounts_for(data)
    account = accounts.get(name)
    if account is None:
        raise Refused(f"No account named {name!r}.")
    for token in account.token_list:
        click.echo(f"{token.id}  {token.created}  {token.last_used or 'never used'}  {terminal_safe(token.label)}")


@users.command("revoke-token")
@click.argument("name")
@click.argument("token_id", metavar="TOKEN_ID", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of NAME.")
@data_option
def revoke_token(name, token_id, revoke_all, data):
    """Revoke NAME's API token TOKEN_ID (see `mapper users tokens NAME`), or --all; it stops working at once."""
    _, accounts = accounts_for(data)
    if revoke_all == bool(token_id):
        raise Refused("Give either a TOKEN_ID or --all.")
    if revoke_all:
        click.echo(f"Revoked {plural(accounts.revoke_all_tokens(name), 'token')} of {name}.")
    else:
        accounts.revoke_token(name, token_id)
        click.echo(f"Revoked token {token_id.strip().lower()} of {name}.")


@users.command("password")
@click.argument("name")
@data_option
def set_password(name, data):
    """Set NAME's password (asked for, without echo); its sessions and reset links stop working."""
    _, accounts = accounts_for(data)
    if accounts.get(name) is None:
        raise Refused(f"No account named {name!r}.")
    accounts.set_password(name, click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True))
    click.echo(f"Changed the password of {name}; its sessions have been signed out.")


@users.command("email")
@click.argument("name")
@click.argument("address", required=False)
@click.option("--remove", is_flag=True, help="Remove the address: reset links can then only come from an admin.")
@data_option
def set_email(name, address, remove, data):
    """Set the ADDRESS that NAME's password reset links are sent to."""
    _, accounts = accounts_for(data)
    if remove == bool(address):
        raise Refused("Give either an ADDRESS or --remove.")
    account = accounts.set_email(name, None if remove else address)
    click.echo(f"{name}: reset links go to {account.email}." if account.email else f"{name}: no email address.")


@users.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_option
def delete_user(name, yes, data):
    """Delete NAME: its sessions and API tokens stop working at once. Histories keep the name, which stays taken."""
    _, accounts = accounts_for(data)
    account = accounts.get(name)
    if account is None:
        raise Refused(f"No account named {name!r}.")
    if not yes:
        click.confirm(f"Delete the {account.role} account {name} and its {plural(len(account.tokens), 'API token')}?",
                      abort=True, err=True)
    accounts.delete(name)
    click.echo(f"Deleted {name}.")


@users.command("reset-link")
@click.argument("name")
@click.option("--base-url", help="The site's address (default: $MAPPER_PUBLIC_URL).")
@data_option
def reset_link(name, base_url, data):
    """Print a single-use password reset link for NAME, valid for an hour, to hand on privately (or to invite a new
    account made with --no-password to choose its password)."""
    from mapper.web.auth import reset_link as link

    resources, accounts = accounts_for(data)
    base_url = base_url or resources.config.get("PUBLIC_URL")
    if not base_url or not base_url.startswith(("https://", "http://")):
        raise Refused("Give --base-url https://... or set MAPPER_PUBLIC_URL: the link must name the site.")
    if accounts.get(name) is None:
        raise Refused(f"No account named {name!r}.")
    click.echo(link(base_url, accounts.new_reset(name)))
    click.echo(f"It works once, for an hour. Give it to {name} only.", err=True)


@users.command("list")
@data_option
def list_users(data):
    """List accounts: name, role, zones, how many tokens each has and its email."""
    _, accounts = accounts_for(data)
    for account in accounts.all():
        click.echo(f"{account.name}  {account.role}  {','.join(account.zones) or '*'}  "
                   f"{plural(len(account.tokens), 'token')}" + (f"  {account.email}" if account.email else ""))
