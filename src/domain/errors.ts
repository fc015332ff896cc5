/** The closed list of what a use case can refuse. `src/http/problem.ts` maps every kind to an HTTP
 * status: a kind added here without a mapping there does not compile. */
export type ErrorKind =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_AMOUNT'
  | 'UNKNOWN_CURRENCY'
  | 'CURRENCY_NOT_ACCEPTED'
  | 'INVALID_VALIDITY'
  | 'INVALID_CARD'
  | 'API_KEY_INVALID'
  | 'DEVICE_TOKEN_INVALID'
  | 'KEY_IN_USE'
  | 'LAST_VALID_KEY'
  | 'TERMINAL_BUSY'
  | 'NOT_CANCELLABLE'
  | 'TRANSACTION_CLOSED'
  | 'TRANSITION_NOT_ALLOWED'
  | 'REFERENCE_INVALID'
  | 'REFUND_EXCEEDS_PURCHASE'
  | 'CAPTURE_EXCEEDS_AUTHORIZATION';
