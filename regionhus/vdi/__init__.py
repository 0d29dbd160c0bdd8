"""VDI session hosts: helpers the vdi_session_host role and its tests use."""
