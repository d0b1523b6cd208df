"""Notifications.

One ``notify()`` entry for every alert the console sends, delivered to Slack (incoming
webhooks, Block Kit) and e-mail, with de-duplication, bounded retries and a delivery log. A
failed delivery never breaks its caller.
"""
