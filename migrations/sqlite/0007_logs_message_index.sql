-- Edits find a single-message log by its own chat and message id.

CREATE INDEX logs_message ON logs (chat_id, message_id);
