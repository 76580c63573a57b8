"""Project files: the service the panels and the API call, the index, fuzzy names, ignore rules, content search,
languages (spec G2).
"""
