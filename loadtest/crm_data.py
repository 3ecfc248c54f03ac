"""What the CRM seeds (crm-example/src/seed.rs), for realistic arguments."""

CONTACT_IDS = list(range(1, 17))
COMPANY_IDS = list(range(1, 9))
DEAL_IDS = list(range(1, 13))
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
TAGS = ["vip", "decision-maker", "champion", "technical", "finance"]
OWNERS = ["sam", "alex", "jordan"]
SEARCHES = ["", "northwind", "contoso", "robotics", "wingtip", "health", "vip", "anna"]
INDUSTRIES = ["", "health", "logistics", "software", "retail"]
