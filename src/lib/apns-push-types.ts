/**
 * Apple's push types (the `apns-push-type` header): the topic suffix each one needs,
 * the priority Herald sends when none is given, the priorities Apple accepts for it,
 * and the payload limit.
 */
export interface PushTypeRule {
  /** Appended to the app's bundle id to form `apns-topic`. */
  readonly topicSuffix: string;
  readonly defaultPriority: 1 | 5 | 10;
  readonly allowedPriorities: readonly number[];
  readonly maxPayloadBytes: number;
  /** MDM pushes carry `{"mdm": "<PushMagic>"}` and no `aps` dictionary. */
  readonly requiresAps: boolean;
}

const STANDARD_LIMIT = 4096;
const VOIP_LIMIT = 5120;
const anyPriority = [1, 5, 10] as const;

export const pushTypes = {
  alert: { topicSuffix: '', defaultPriority: 10, allowedPriorities: anyPriority, maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  // Apple throttles or drops background pushes sent with priority 10.
  background: { topicSuffix: '', defaultPriority: 5, allowedPriorities: [5], maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  voip: { topicSuffix: '.voip', defaultPriority: 10, allowedPriorities: anyPriority, maxPayloadBytes: VOIP_LIMIT, requiresAps: true },
  complication: { topicSuffix: '.complication', defaultPriority: 10, allowedPriorities: anyPriority, maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  fileprovider: { topicSuffix: '.pushkit.fileprovider', defaultPriority: 5, allowedPriorities: anyPriority, maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  mdm: { topicSuffix: '', defaultPriority: 10, allowedPriorities: anyPriority, maxPayloadBytes: STANDARD_LIMIT, requiresAps: false },
  location: { topicSuffix: '.location-query', defaultPriority: 10, allowedPriorities: [5, 10], maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  liveactivity: { topicSuffix: '.push-type.liveactivity', defaultPriority: 10, allowedPriorities: [5, 10], maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  // Push to Talk pushes must be delivered at once.
  pushtotalk: { topicSuffix: '.voip-ptt', defaultPriority: 10, allowedPriorities: [10], maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
  widgets: { topicSuffix: '.push-type.widgets', defaultPriority: 5, allowedPriorities: [5, 10], maxPayloadBytes: STANDARD_LIMIT, requiresAps: true },
} as const satisfies Record<string, PushTypeRule>;

export type PushType = keyof typeof pushTypes;

export function isPushType(value: string): value is PushType {
  return Object.hasOwn(pushTypes, value);
}

/** The topic for `pushType`: the base topic plus the type's suffix, unless the caller already added it. */
export function topicFor(baseTopic: string, pushType: PushType): string {
  const suffix = pushTypes[pushType].topicSuffix;
  return suffix === '' || baseTopic.endsWith(suffix) ? baseTopic : `${baseTopic}${suffix}`;
}
