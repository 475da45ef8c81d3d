/**
 * A user's push rules in the database: stored as the user's changes to the
 * defaults (ruleset.ts), shown to clients whole, and published as the
 * `m.push_rules` account data on every change so that sync carries them.
 */
import type { PushRule, PushRuleKind, PushRuleset } from '../api.js';
import type { UserServices } from '../services.js';
import { keys, put } from '../storage.js';
import { accountDataChanges } from '../topics.js';
import * as rules from './ruleset.js';

export class PushRules {
  constructor(private readonly svc: UserServices) {}

  private async stored(userId: string): Promise<rules.StoredPushRules> {
    return (await this.svc.storage.db.get<rules.StoredPushRules>(keys.pushRules(userId))) ?? rules.emptyPushRules();
  }

  async ruleset(userId: string): Promise<PushRuleset> {
    return rules.ruleset(userId, await this.stored(userId));
  }

  async rule(userId: string, kind: PushRuleKind, ruleId: string): Promise<PushRule> {
    return rules.findRule(userId, await this.stored(userId), kind, ruleId);
  }

  /** Applies a change under the user's lock and publishes the new ruleset in the same batch. */
  change(userId: string, fn: (stored: rules.StoredPushRules) => rules.StoredPushRules): Promise<void> {
    return this.svc.locks.run(`pushrules:${userId}`, async () => {
      const next = fn(await this.stored(userId));
      const content = { global: rules.ruleset(userId, next) };
      await this.svc.producer.write(
        [put(keys.pushRules(userId), next)],
        [{ topic: accountDataChanges, record: { user_id: userId, type: 'm.push_rules', content } }],
        { durable: true },
      );
    });
  }
}
