"""The softphone page: the panel beside a dialer's own web phone (RingCentral Embeddable, Zoom Phone Smart Embed,
Dialpad Mini Dialer, Aircall Everywhere, the Amazon Connect CCP). `settings` says which phones are configured and
where each lives; `views` serves the page and the contact match the phones ask for (docs/softphones.md)."""
