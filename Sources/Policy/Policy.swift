// Policy: the replicated state machine of users, apps, principals, tokens, quota and
// pricing revisions, credentials and routing (DESIGN.md section 2). Pure.
