"""``imgot serve``: a local web page to try a transfer, tune it live and download the result."""

from __future__ import annotations

import shlex

import click


def transfer_command_line(source: str, reference: str, output: str, params: dict) -> str:
    """The ``imgot transfer`` command giving the same result as `params`.

    Built from the ``transfer`` command's own options, so the flags are the
    command's: an option is written out when its value is not its default.

    Examples
    --------
    >>> transfer_command_line("a.jpg", "my b.jpg", "a_imgot.jpg", {"strength": 0.5})
    "imgot transfer a.jpg 'my b.jpg' -o a_imgot.jpg --strength 0.5"
    """
    from .transfer import transfer

    words = ["imgot", "transfer", source, reference, "-o", output]
    for option in transfer.params:
        if not isinstance(option, click.Option) or option.name not in params:
            continue
        value = params[option.name]
        if value == option.default or (value is None and option.default is None):
            continue
        if option.is_flag:
            if value:
                words.append(option.opts[0])
            elif option.secondary_opts:
                words.append(option.secondary_opts[0])
            continue
        words += [option.opts[-1], str(value)]
    return " ".join(shlex.quote(word) for word in words)


def _exposed_names(host: str) -> tuple[str, ...]:
    """The names and addresses other machines may reach this one by (the Host headers ``--expose`` allows)."""
    import socket

    names = {host, socket.gethostname(), socket.getfqdn()}
    try:
        names.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None))
    except OSError:
        pass
    try:  # the address of the default route's interface (a UDP "connect" sends nothing)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            names.add(probe.getsockname()[0])
    except OSError:
        pass
    return tuple(sorted(name for name in names if name and name not in ("0.0.0.0", "::")))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but loopback (127.0.0.1, localhost, ::1) "
                   "needs --expose.")
@click.option("--expose", is_flag=True,
              help="Allow a non-loopback --host (such as 0.0.0.0): other machines that have the URL "
                   "(with its token) can use the page; their Host header may name this machine.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="TCP port; 0 picks a free one.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=200, show_default=True,
              help="Largest accepted upload, in megabytes.")
@click.option("--max-megapixels", type=click.FloatRange(min=0, min_open=True), default=100, show_default=True,
              help="Largest accepted image, in megapixels (decompression-bomb guard).")
def serve(host, port, expose, open_browser, max_upload_mb, max_megapixels):
    """Start a local web page to recolor an image live, then download the result.

    Prints the page's URL, which carries a secret token; only requests with
    that token are answered. Uploaded images stay in a private temporary
    folder removed at exit (and, after a kill, at the next start). Needs the
    serve extra: pip install "imgot[serve]".

    \b
    Example:
      imgot serve --open
      imgot serve --port 9000
      imgot serve --host 0.0.0.0 --expose     # reachable from the local network
    """
    import secrets
    import socket

    from ..serve.security import LOOPBACK

    if host not in LOOPBACK and not expose:
        raise click.UsageError(f"--host {host} would expose the page to the network; add --expose to mean it")

    try:
        import uvicorn

        from ..serve.app import create_app
        from ..serve.session import Limits
    except ImportError as error:
        raise click.ClickException(f"imgot serve needs the serve extra ({error.name} is missing): "
                                   'pip install "imgot[serve]"') from None
    from PIL import Image

    max_pixels = int(max_megapixels * 1e6)
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's bomb guard, for every decode in this process
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(128)  # before the URL is printed: a client that connects at once is queued, not refused
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    extra = _exposed_names(host) if expose else ()
    app = create_app(token=token, host=host, port=port, command_line=transfer_command_line, extra_hosts=extra,
                     limits=Limits(max_bytes=int(max_upload_mb * 1024 * 1024), max_pixels=max_pixels))
    shown = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}/?token={token}"
    click.echo(f"imgot serve: open {url}")
    if expose:
        click.echo(f"warning: listening on {host} (--expose): anyone who can reach it and has the URL can "
                   f"use it, as http://NAME:{port}/?token=... with NAME one of {', '.join(extra)}", err=True)
    click.echo("Press Ctrl+C to stop.", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it handled: a clean stop, not a batch's
        pass
    click.echo("imgot serve: stopped; the uploads are removed", err=True)
