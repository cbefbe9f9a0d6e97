"""Who a command records as its caller (requests, drops), also where the login name is unknown."""
import getpass
import os

from jobs.commands.argtypes import cli_user


def test_the_login_name_is_recorded(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "dev")
    assert cli_user() == "cli:dev"


def test_a_container_user_without_a_name_is_recorded_by_uid(monkeypatch):
    """A uid with no passwd entry and no USER/LOGNAME: getpass.getuser() raises OSError (3.13: OSError;
    3.11: KeyError from pwd); every run command used to fail before it started."""
    for error in (OSError("No username set in the environment"), KeyError("getpwuid(): uid not found: 1000680000")):
        def raising(error=error):
            raise error
        monkeypatch.setattr(getpass, "getuser", raising)
        assert cli_user() == f"cli:uid{os.getuid()}"
