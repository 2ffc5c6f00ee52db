"""Send: takes a published issue's message.eml and a recipient list.

Gives one delivery per address over SMTP, recorded in a ledger so a re-run never mails twice.
"""
