"""Every document as a public record: the register extract for the diarium, the closed
round as an E-ARK SIP for the e-archive, and the retention (gallring) rules (issue 21)."""
