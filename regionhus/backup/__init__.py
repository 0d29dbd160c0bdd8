"""Backup per municipality: schedules, staleness, restore drills and status (BorgBackup)."""
