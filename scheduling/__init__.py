"""Schedules.

Broadcast schedules: pre-broadcast checks and alerts, starting and stopping channels on time
(each step recorded once so two workers never act twice), the daily report and the operational
KPIs.
"""
