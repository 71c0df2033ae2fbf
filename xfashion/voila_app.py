"""Serve the Voila app (``make app``): ``python -m xfashion.voila_app NOTEBOOK [voila options]``.

The same command line as ``voila``, with one upstream bug worked around (here only). Voila runs the
app's cells through nbclient, whose stand-in for the browser's Output widget
(``nbclient.output_widget.OutputWidget``) mirrors each captured output back to the kernel as a
``comm_msg`` sent on the executor's shell socket, while the executor awaits a poll on that same
socket for the cell's ``execute_reply``. A reply that lands during those sends can go unseen: the
kernel is idle, its reply sits unread, and the page stays at "Executing 2 of 3" for good
(jupyter/nbclient#312, open PR #311; voila-dashboards/voila#1428). Our explorer draws into an
Output widget while its cell runs (``ipywidgets.interact``), so it met this on busy machines. Measured
on a 2-core box with a busy loop on the server's core: 6 of 6 fresh servers stalled without this,
none of 9 with it (``tests/test_browser.py`` runs the app so).

The fix: mirror messages go to the kernel on a shell socket of their own, one per executor (so they
keep their order); the executor's socket carries only execute requests and their replies.
"""
from __future__ import annotations

import weakref


def _mirror_on_own_socket(self, msg_type: str, data: dict | None = None, metadata: dict | None = None,
                          buffers: list | None = None, **keys) -> None:
    """``OutputWidget._publish_msg`` as nbclient 0.11 builds the message, sent on a socket of its own."""
    from nbclient.jsonutil import json_clean

    content = json_clean(dict(data=data or {}, comm_id=self.comm_id, **keys))
    msg = self.kernel_client.session.msg(msg_type, content=content, parent=self.parent_header,
                                         metadata=metadata or {})
    executor = self.executor
    socket = getattr(executor, "_xfashion_mirror_socket", None)
    if socket is None:
        socket = executor._xfashion_mirror_socket = executor.km.connect_shell()
        weakref.finalize(executor, socket.close, 0)
    self.kernel_client.session.send(socket, msg)


def patch_output_widget() -> None:
    """Send nbclient's Output-widget mirror messages on their own shell socket (see the module's note)."""
    from nbclient.output_widget import OutputWidget

    OutputWidget._publish_msg = _mirror_on_own_socket


def main() -> None:
    """Voila's command line, after :func:`patch_output_widget`."""
    patch_output_widget()
    from voila.app import main as voila_main

    voila_main()


if __name__ == "__main__":
    main()
