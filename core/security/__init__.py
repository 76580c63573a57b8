"""The one door every request passes, and what it uses: login, Host/Origin policy, limits, masking, response
headers (spec J).
"""
