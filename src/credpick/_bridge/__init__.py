"""The bridge: credpick's pick, handed to programs that are not Python.

``credpick process`` prints it as ``credential_process`` JSON (:mod:`.process`),
``credpick serve`` serves it over the container credential protocol on loopback
(:mod:`._server`), and ``credpick exec`` runs a command with a private server for
its lifetime (:mod:`.exec_`). :mod:`._pick` builds the session they all serve.
"""
