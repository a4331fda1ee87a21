/**
 * The triggers layer's public surface: analysis started before any hook asks, by the PACS
 * (a stable study) or by a FHIR Subscription notification (an ImagingStudy available).
 */
export { pacsStudyJob, studyOfJob } from './pacs.js';
export type { PacsTriggerSource } from './pacs.js';
export { notificationJobs, parseNotification } from './subscription.js';
export type { ParsedNotification, SubscriptionSource } from './subscription.js';
export { createSecretCheck } from './secret.js';
