"""The chat view (spec D1-D6) and the approval card (E1-E3) it shares with the approvals list."""

from components.chat.approval_card import ApprovalCard
from components.chat.view import ChatView

__all__ = ["ApprovalCard", "ChatView"]
