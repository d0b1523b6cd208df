"""Assistants.

Interfaces for people who ask rather than click: the Slack slash command and the MCP server for
AI assistants. They hold no logic of their own and call the same services and selectors as the
admin and the API.
"""
