"""The official SDK's API objects, built once per gateway: the only place the product touches ``asana``'s
classes, so every call site goes through ``AsanaGateway.call`` (retries, rate budget, counting)."""

from __future__ import annotations

import asana


class Apis:
    """One SDK API object per endpoint group (private to the gateway: ``gateway._api``)."""

    def __init__(self, client: asana.ApiClient) -> None:
        self.users = asana.UsersApi(client)
        self.workspaces = asana.WorkspacesApi(client)
        self.projects = asana.ProjectsApi(client)
        self.portfolios = asana.PortfoliosApi(client)
        self.tags = asana.TagsApi(client)
        self.tasks = asana.TasksApi(client)
        self.custom_fields = asana.CustomFieldsApi(client)
        self.custom_field_settings = asana.CustomFieldSettingsApi(client)
        self.time_entries = asana.TimeTrackingEntriesApi(client)
        self.time_categories = asana.TimeTrackingCategoriesApi(client)
        self.timesheets = asana.TimesheetApprovalStatusesApi(client)
        self.budgets = asana.BudgetsApi(client)
        self.rates = asana.RatesApi(client)
        self.stories = asana.StoriesApi(client)
        self.attachments = asana.AttachmentsApi(client)
        self.events = asana.EventsApi(client)
        self.webhooks = asana.WebhooksApi(client)
        self.allocations = asana.AllocationsApi(client)
        self.ooo_entries = asana.OooEntriesApi(client)
