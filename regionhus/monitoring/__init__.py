"""Monitoring of the region against its SLA: what is probed, who is alerted, and the
availability Prometheus measured (for the auditors' report)."""
