/**
 * Seeded, real-looking dialogues for bench/memory.ts: small talk between a user and a companion over many sessions,
 * with facts about the user said once in one session and asked about in a later one, and small talk that uses the
 * same words in passing (distractors). Questions are worded as people ask them, not copied from the fact: some share
 * its key word ("sister"), some only a neighbour of it ("allergic" / "allergy"), some none (lexical recall misses
 * those, by design of the measure).
 */

export interface Message {
  role: 'human' | 'ai';
  content: string;
}

/** A fact: what the user says once, what the companion answers, and later questions about it. */
interface FactTemplate {
  say: (v: string) => string;
  reply: (v: string) => string;
  ask: string[];
  values: string[];
}

const FACTS: FactTemplate[] = [
  { say: (v) => `By the way, my sister's name is ${v}.`, reply: (v) => `${v} is a lovely name!`, ask: ["What's my sister's name again?", 'Do you remember what my sister is called?'], values: ['Ana', 'Clara', 'Mei', 'Sofia', 'Ingrid'] },
  { say: (v) => `I have a dog called ${v}, he's a beagle.`, reply: () => 'Beagles are so cheerful!', ask: ["What's my dog's name?", 'Do you remember the name of my dog?'], values: ['Biscuit', 'Rocket', 'Pepper', 'Milo'] },
  { say: (v) => `I'm allergic to ${v}, so I have to be careful when I eat out.`, reply: () => "That sounds tough, I'll keep it in mind.", ask: ['What am I allergic to?', 'Which food gives me an allergy?'], values: ['peanuts', 'shellfish', 'strawberries', 'sesame'] },
  { say: (v) => `I work as a ${v} at the city hospital.`, reply: () => 'That must be demanding work.', ask: ['Where do I work?', 'What is my job at the hospital?'], values: ['nurse', 'radiologist', 'pharmacist', 'paramedic'] },
  { say: (v) => `My birthday is on ${v}.`, reply: () => "I'll remember to wish you a happy birthday!", ask: ['When is my birthday?', 'Do you know the date of my birthday?'], values: ['March 3rd', 'July 14th', 'October 21st', 'January 9th'] },
  { say: (v) => `I grew up in ${v}, near the sea.`, reply: (v) => `${v} by the sea sounds beautiful.`, ask: ['Where did I grow up?', 'Which town am I from originally?'], values: ['Porto', 'Brest', 'Split', 'Hakodate'] },
  { say: (v) => `I've been learning to play the ${v} for two years.`, reply: () => 'Two years of practice, impressive!', ask: ['Which instrument am I learning to play?', 'What instrument do I practise?'], values: ['cello', 'violin', 'ukulele', 'piano'] },
  { say: (v) => `My favourite band is ${v}, I've seen them live three times.`, reply: () => 'Three concerts, you must really love them.', ask: ["What's my favourite band?", 'Which band have I seen live?'], values: ['Radiohead', 'Daft Punk', 'Arcade Fire', 'Muse'] },
  { say: (v) => `My son ${v} just started primary school.`, reply: () => 'A big step for him!', ask: ["What's my son's name?", 'How is my son doing at school, do you remember his name?'], values: ['Leo', 'Hugo', 'Kenji', 'Mateo'] },
  { say: (v) => `I drive an old ${v} that keeps breaking down.`, reply: () => 'Old cars have character, at least.', ask: ['What car do I drive?', 'Which car keeps breaking down?'], values: ['Volvo', 'Fiat Panda', 'Toyota Corolla', 'Renault Clio'] },
  { say: (v) => `I'm training for a ${v} in the spring.`, reply: () => 'Good luck with the training!', ask: ['What am I training for?', 'Which race am I preparing for this spring?'], values: ['marathon', 'half marathon', 'triathlon', '10k race'] },
  { say: (v) => `My best friend ${v} is moving to Canada next month.`, reply: () => "You'll miss each other, I bet.", ask: ["Who's my best friend?", 'Which friend of mine is moving to Canada?'], values: ['Tom', 'Yuki', 'Priya', 'Lukas'] },
  { say: (v) => `I can't stand ${v}, it's the worst.`, reply: () => "Ha, everyone has something they can't stand.", ask: ["What is it that I can't stand?", 'What do I hate?'], values: ['cilantro', 'olives', 'mushrooms', 'licorice'] },
  { say: (v) => `I'm reading ${v} at the moment, it's slow but good.`, reply: () => 'Slow books can be the most rewarding.', ask: ['Which book am I reading?', 'What was the book I told you about?'], values: ['War and Peace', 'Dune', 'Middlemarch', 'The Name of the Rose'] },
  { say: (v) => `My cat ${v} sleeps on my keyboard all day.`, reply: () => 'Cats love warm keyboards!', ask: ["What's my cat called?", 'Remember my cat, the one on the keyboard? What is her name?'], values: ['Miso', 'Luna', 'Pixel', 'Nori'] },
  { say: (v) => `I'm going to ${v} for my holidays in August.`, reply: () => 'That sounds like a wonderful trip!', ask: ['Where am I going for my holidays?', 'Where is my trip in August?'], values: ['Iceland', 'Vietnam', 'Morocco', 'Peru'] },
  { say: (v) => `I studied ${v} at university.`, reply: () => 'Interesting subject!', ask: ['What did I study at university?', 'What was my degree in?'], values: ['geology', 'linguistics', 'chemistry', 'art history'] },
  { say: (v) => `My mother's favourite flower is the ${v}.`, reply: () => "I'll remember for Mother's Day.", ask: ['Which flower does my mother like best?', 'What flowers should I buy for my mom?'], values: ['peony', 'tulip', 'lily', 'orchid'] },
  { say: (v) => `I'm a vegetarian since ${v}.`, reply: () => 'Good for you!', ask: ['Since when am I vegetarian?', 'Do I eat meat?'], values: ['2019', 'last summer', 'I was a teenager', 'my trip to India'] },
  { say: (v) => `I play ${v} every Thursday evening with my colleagues.`, reply: () => 'A nice way to end the week.', ask: ['What do I play on Thursdays?', 'Which game do I play with my colleagues?'], values: ['badminton', 'poker', 'five-a-side football', 'chess'] },
];

/** Small talk lines, some with the facts' key words used in passing (distractors). */
const SMALL_TALK: Array<[string, string]> = [
  ['How was your day?', 'Pretty good! I spent it thinking about our last chat. How about you?'],
  ['The weather is awful today, it has been raining since morning.', 'Rainy days are perfect for tea and a good book.'],
  ['I made pasta for dinner, it turned out great.', 'Yum, what kind of sauce did you make?'],
  ['Just a simple tomato sauce with basil.', 'Simple is often the best.'],
  ['Work was stressful, my boss moved the deadline again.', "That's frustrating. Did you get some time to breathe?"],
  ['I watched a documentary about octopuses last night.', 'Octopuses are fascinating, they can open jars!'],
  ['My sister called me this morning about the weekend plans.', 'Are you doing something fun together?'],
  ['I walked past a dog park and all the dogs were so happy.', 'Dogs at play are the best thing to watch.'],
  ['I need to buy a new phone, mine is falling apart.', 'Any model in mind?'],
  ["I'm so tired, I didn't sleep well.", 'Maybe an early night today?'],
  ['I tried a new coffee shop near the station.', 'Was the coffee any good?'],
  ['It was okay, a bit too bitter for me.', 'Bitter coffee can ruin a morning.'],
  ['My neighbour is renovating and the drilling never stops.', 'That sounds exhausting to listen to.'],
  ['I finally cleaned my room, it took all afternoon.', 'That must feel satisfying now.'],
  ['I went to the hospital to visit a friend, she is fine now.', "Glad to hear she's okay."],
  ['The train was late again today.', 'Trains and punctuality, an eternal struggle.'],
  ['I started a puzzle with a thousand pieces.', 'That takes patience! What is the picture?'],
  ['A lighthouse by the sea at sunset.', 'That sounds lovely to put together.'],
  ["I'm thinking of learning a new language.", 'Which one are you considering?'],
  ['Maybe Japanese, or Portuguese.', 'Both are beautiful languages.'],
  ['My cat knocked a glass off the table again.', 'Cats and gravity experiments!'],
  ['I had a long call with my mother yesterday.', 'How is she doing?'],
  ['I ate too much cake at the office party.', "Office cake doesn't count, everyone knows that."],
  ['I saw a concert poster for a band I used to like.', 'Are you tempted to go?'],
  ['I lost my keys and found them in the fridge.', 'That happens to the best of us!'],
  ['The school called about a meeting next week.', 'I hope it goes well.'],
  ['I read that running in the morning is good for you.', 'It can be, if you enjoy it.'],
  ['My car needs new tyres before winter.', 'Safety first, good idea.'],
  ['I cooked rice and forgot it on the stove.', 'Oh no, burnt rice smell is the worst.'],
  ['A friend recommended a book to me but I forgot the title.', 'Maybe ask them again?'],
  ['I bought flowers for the kitchen table.', 'Flowers brighten up any room.'],
  ['The holidays feel so far away.', 'They will come sooner than you think.'],
  ['I played a board game with friends last weekend.', 'Which game did you play?'],
  ['I am trying to eat more vegetables.', 'Any favourite recipes so far?'],
  ['I watched the football match, what a finish!', 'Exciting games are the best.'],
  ['My colleague brought her baby to the office today.', 'That must have been a nice distraction.'],
];

/** A small seeded generator (mulberry32): the same dialogues every run. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

/** `pairs` exchanges of small talk. */
export function smallTalk(random: () => number, pairs: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < pairs; i++) {
    const [human, ai] = pick(random, SMALL_TALK);
    out.push({ role: 'human', content: human }, { role: 'ai', content: ai });
  }
  return out;
}

export interface Session {
  messages: Message[];
}

export interface Question {
  /** The session the question is asked in (a later one than the fact's). */
  askedIn: number;
  text: string;
  /** Where the fact was said: session and position among its messages. */
  evidence: { session: number; message: number };
}

/**
 * `sessions` conversations of small talk (about `pairsPerSession` exchanges each) between which facts are said, one
 * per fact template, at random places, each later asked about once, in a random later session.
 */
export function dialogues(seed: number, sessions: number, pairsPerSession: number): { sessions: Session[]; questions: Question[] } {
  const random = seeded(seed);
  const all: Session[] = Array.from({ length: sessions }, () => ({ messages: smallTalk(random, pairsPerSession) }));
  const placed: Array<Question & { said: string }> = [];
  for (const fact of FACTS) {
    const value = pick(random, fact.values);
    const session = Math.floor(random() * (sessions - 1));
    const messages = all[session]!.messages;
    const at = 2 * Math.floor(random() * (messages.length / 2 + 1));
    const said = fact.say(value);
    messages.splice(at, 0, { role: 'human', content: said }, { role: 'ai', content: fact.reply(value) });
    for (const text of fact.ask) {
      const askedIn = session + 1 + Math.floor(random() * (sessions - session - 1));
      placed.push({ askedIn, text, evidence: { session, message: -1 }, said });
    }
  }
  // A fact's place moves when a later one is put before it in its session: positions are found once all are placed.
  for (const q of placed) q.evidence.message = all[q.evidence.session]!.messages.findIndex((m) => m.content === q.said);
  return { sessions: all, questions: placed.map(({ said: _said, ...q }) => q) };
}

/** Pseudo-words (syllables), drawn with Zipf's law: a conversation's long tail of names, places and things. */
export function vocabulary(random: () => number, size: number) {
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'shi', 'po', 've', 'da', 'ri', 'mo', 'su', 'ge', 'an', 'ol', 'be', 'zu'];
  const words = Array.from({ length: size }, () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => syllables[Math.floor(random() * syllables.length)]).join(''));
  const weights = words.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) cumulative.push((sum += w / total));
  return () => {
    const r = random();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
}

export function messagesFor(random: () => number, word: () => string, count: number): Message[] {
  return smallTalk(random, Math.ceil(count / 2))
    .slice(0, count)
    .map((m) => ({ ...m, content: `${m.content} ${Array.from({ length: 2 + Math.floor(random() * 6) }, word).join(' ')}` }));
}

