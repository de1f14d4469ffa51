"""The pages that gather everything (the top layer, README "Layout"): the dashboard, the
Activity page (it links to objects of every app) and the demo account's data. Nothing below
imports them; they may import any app."""
