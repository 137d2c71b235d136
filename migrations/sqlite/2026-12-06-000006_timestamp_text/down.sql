-- The six-digit form is also what diesel reads; nothing to undo.
SELECT 1;
