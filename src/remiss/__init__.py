"""Remisshantering för kommuner: remissomgångar, utskick, påminnelser och svar."""
