"""Who is calling: the lookup of a number in Salesforce (`lookup`), the matching rules (`matching`) and the picks
agents made for a number or a call (`picks`). Shared by the screen pop and the call logging."""
