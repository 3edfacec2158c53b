"""Operations: reading back what was deployed (status, delivery metrics) and acting on it
(rollback, drift remediation, notifications). Everything here reads the deployment log,
the drift state and the ephemeral registry through their public functions and returns
typed reports; renderers in :mod:`stackflow.ops.render` and :mod:`stackflow.ops.html`
turn reports into text."""
